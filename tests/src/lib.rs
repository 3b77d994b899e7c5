//! Helpers shared by Torsion's integration tests.
