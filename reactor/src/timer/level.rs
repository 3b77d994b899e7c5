//! One level of the timing wheel (placeholder).
