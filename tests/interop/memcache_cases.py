"""Probe requests for the memcached differential test (see memcache_diff.py).

Each case is sent whole on a fresh connection to Debian's memcached and to
torsion-memcached; the replies must be byte for byte the same. Cases are
grouped by protocol: classic text commands, meta commands, binary packets,
and edge-case probes.

Deliberate differences are not probed here; docs/memcached.md lists them with
their reasons: the version string; memcached's binary unknown-opcode and
`verbosity` handling swallowing the following packet; closing at once on a bad
binary magic byte; a meta `O` token that is too long being refused before `N`
takes effect; and `t` after a negative `T`, which prints memcached's process
clock.
"""

import struct

def req(op, extras=b"", key=b"", value=b"", cas=0, opaque=0xdeadbeef, body=None):
    b = len(extras) + len(key) + len(value) if body is None else body
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), len(extras), 0, 0, b, opaque, cas) + extras + key + value
def se(flags=0, exp=0): return struct.pack(">II", flags, exp)
def ae(d, i, e): return struct.pack(">QQI", d, i, e)
GET,SET,ADD,REPLACE,DELETE,INCR,DECR,QUIT,FLUSH,GETQ,NOOP,VERSION,GETK,GETKQ,APPEND,PREPEND,STAT=range(0x11)
SETQ,ADDQ,REPLACEQ,DELETEQ,INCRQ,DECRQ,QUITQ,FLUSHQ,APPENDQ,PREPENDQ,VERB,TOUCH,GAT,GATQ=range(0x11,0x1f)
SASL_LIST,SASL_AUTH,SASL_STEP,GATK,GATKQ=0x20,0x21,0x22,0x23,0x24

f17 = b" s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1"   # 17 flags

CASES = [

 ("text: basic", b"set a 5 0 3\r\nabc\r\nget a b\r\ngets a\r\nadd a 0 0 1\r\nx\r\nreplace c 0 0 1\r\nx\r\nappend a 0 0 2\r\nde\r\nprepend a 0 0 2\r\n__\r\nget a\r\n"),
 ("text: cas", b"cas k 0 0 1 1\r\nx\r\nset k 0 0 1\r\nx\r\ngets k\r\ncas k 0 0 1 2\r\ny\r\ncas k 0 0 1 1\r\ny\r\n"),
 ("text: incr", b"set k 0 0 2\r\n10\r\nincr k 5\r\ndecr k 100\r\nget k\r\nincr k 18446744073709551615\r\nincr k 2\r\nincr nope 1\r\nset s 0 0 3\r\nabc\r\nincr s 1\r\nincr k abc\r\nincr k -1\r\n"),
 ("text: touch gat", b"set k 3 0 1\r\nv\r\ntouch k 10\r\ntouch nope 10\r\ntouch k abc\r\ngat 10 k nope\r\ngats 10 k\r\ngat 10\r\ngat x k\r\n"),
 ("text: delete", b"delete k\r\nset k 0 0 1\r\nx\r\ndelete k 0\r\ndelete k 10\r\ndelete k 0 noreply\r\ndelete\r\ndelete a b c d e\r\n"),
 ("text: flush", b"flush_all\r\nflush_all 0\r\nflush_all noreply\r\nflush_all x\r\nflush_all 1 2 3\r\n"),
 ("text: errors", b"bogus\r\n\r\n \r\nGET k\r\nset k 0 0\r\nset k x 0 1\r\nset k 0 0 -1\r\nverbosity\r\nverbosity 1\r\nshutdown\r\nstats nonsense\r\nstats reset\r\nquit foo\r\n"),
 ("text: bad chunk", b"set k 0 0 3\r\nabcd\r\nget k\r\nset k 0 0 3\r\nabc\ngget k\r\n"),
 ("text: too large", b"set k 0 0 1\r\nx\r\nset k 0 0 2000000\r\n" + b"z"*2000002 + b"get k\r\n"),
 ("text: noreply", b"set a 0 0 1 noreply\r\n1\r\nset a 0 0 x noreply\r\nincr a x noreply\r\nset a noreply\r\nget a\r\n"),
 ("text: long key", b"get " + b"k"*251 + b"\r\nset " + b"k"*251 + b" 0 0 1\r\nv\r\n"),
 ("text: ctrl key", b"set a\x01 0 0 1\r\nv\r\nget a\x01\r\n"),
 ("text: tokens", b"incr k 1" + b" x"*30 + b"\r\n"),
 ("text: long line", b"x"*3000),


 ("meta: mg miss", b"mg foo v\r\nmg foo v Oab k\r\nmg foo v q\r\nmn\r\n"),
 ("meta: ms basic", b"ms foo 2 F5\r\nhi\r\nmg foo s v t c f k Oxy\r\nmg foo\r\nmg foo k q\r\nmg foo u P L\r\nmg foo C99 v\r\n"),
 ("meta: h l", b"ms k 1\r\nx\r\nmg k u h l\r\nmg k h l\r\nmg k h l\r\nme k\r\n"),
 ("meta: T order", b"ms k 1 T100\r\nx\r\nmg k t T60\r\nmg k T30 t\r\nmg k t T30 t\r\n"),
 ("meta: vivify", b"mg n s c v N30 t\r\nmg n s c v N30 t\r\nmg q1 s N30 t q\r\nmg n2 t N30\r\n"),
 ("meta: recache", b"ms r 2 T120\r\nab\r\nmg r R100 t\r\nmg r R130 t\r\nmg r R130 t\r\nms r 2 T120\r\nab\r\nmg r R130\r\nms never 1\r\nx\r\nmg never R130\r\n"),
 ("meta: stale", b"ms k 3\r\nmoo\r\nmg k s v c\r\nmd k I T30\r\nmg k s t c v\r\nmg k c\r\nms k 1 T90 C0\r\nf\r\nms k 1 I T90 C1\r\nf\r\nmg k t c v\r\nms k 1 T90 C3\r\ng\r\nmg k t v\r\nmd k I C1\r\nmd nope I\r\nmd k I q\r\nmg k c\r\n"),
 ("meta: modes", b"ms k 2 T120\r\naa\r\nms k 2 T120 ME\r\naa\r\nms t 2 T120 ME\r\nbb\r\nms t 2 MA s\r\ncc\r\nms t 2 MP s c\r\naa\r\nmg t v f\r\nms nope 2 MR\r\nzz\r\nms t 2 MR F3\r\nxx\r\nms t 2 MS\r\nyy\r\nmg t v f\r\nms t 2 MZ\r\ntt\r\nmg t v\r\n"),
 ("meta: append cas", b"ms ap 2 MA C5000 T30\r\nhi\r\nms ap 2 MA T30\r\nhi\r\nms ap 2 T30 c\r\nho\r\nms ap 2 MA C2\r\nhi\r\nms ap 2 MA C3\r\nhi\r\nmg ap v\r\n"),
 ("meta: append viv", b"ms viv 2 MA N30\r\nmo\r\nmg viv v t\r\nms viv 2 MA N30 s\r\nko\r\n"),
 ("meta: ms cas flags", b"ms k 2 c\r\nbo\r\nms k 2 c C11\r\nio\r\nms k 2 c C1\r\nio\r\nms k 2 MR C2 c\r\nzz\r\nms nope 2 C2\r\nzz\r\nms a 1\r\n1\r\nms a 1 Otest\r\n1\r\nms a 1 s\r\n1\r\nms a 1 k\r\n1\r\nms a 1 F4294967295 T0 k Oz c s\r\n1\r\nmg a f\r\n"),
 ("meta: ms quiet", b"ms q 2 q\r\nmo\r\nms q 2 q ME\r\nmo\r\nms q 2 q C1\r\nmo\r\nmg q v\r\n"),
 ("meta: ms errors", b"ms k 2 q\r\nxyz\nmn\r\nms k 1 q\r\nxy\r\nmn\r\nms k 3 v v\r\nabc\r\nmn\r\nms k\r\nabc\r\nmn\r\nms k -1\r\nmn\r\n"),
 ("meta: ms long key", b"ms " + b"k"*251 + b" 3 q\r\nabc\r\nmn\r\n"),
 ("meta: ms too large", b"ms k 1\r\nx\r\nms k 2000000 q MA\r\n" + b"z"*2000002 + b"mg k v\r\n"),
 ("meta: md", b"md k\r\nmd k q\r\nmd k q Oa k\r\nms k 2\r\nhi\r\nmd k C9\r\nmd k C0\r\nmd k C1 Oa k\r\nmg k\r\nms k 2\r\nhi\r\nmd k q\r\nmn\r\nms k 2\r\nhi\r\nmd k T30 I\r\nmg k t\r\nmd k T5\r\nmg k\r\nmd k v v\r\n"),
 ("meta: ma", b"ma mo\r\nma mo D1 q Oa k\r\nset mo 0 0 1\r\n1\r\nma mo\r\nma mo v\r\nma mo v D10 c\r\nma mo v MD D4\r\nma mo v M- D100\r\nma mo v M+ D18446744073709551615\r\nma mo v\r\nget mo\r\nset s 0 0 1\r\nq\r\nma s q\r\n"),
 ("meta: ma viv", b"ma mi N0 J13 v t\r\nma mi N0 J13 v t\r\nma mu N90 t v\r\nma mu T300 v t\r\nma mu t T30 k\r\nmg mu t\r\nma mi q D1\r\nmn\r\nma new q N0\r\nmn\r\nmg mi v\r\nmg new v\r\n"),
 ("meta: ma cas", b"ma mc N0 c v\r\nma mc C99999 v\r\nma mc C0 v\r\nma mc C2 c v\r\nma mc v v\r\nma mc Mx\r\nma mc Dx\r\n"),
 ("meta: me mn", b"me k\r\nmn\r\nms k 2 T100\r\nhi\r\nme\r\nmz k\r\n"),
 ("meta: b keys", b"ms 44OG44K544OI 2 b k\r\npo\r\nmg 44OG44K544OI v\r\nmg 44OG44K544OI b v k\r\nmg 44OG44K544OI b k Oq\r\nmd Zm9v b k\r\nmg Zm9 b v\r\nms Zm9v 1 b\r\nx\r\nget foo\r\n"),
 ("meta: me b", b"ms 44OG44K544OI 2 b k\r\npo\r\nme 44OG44K544OI b\r\n"),
 ("meta: quiet pipe", b"ms quiet 2 q\r\nbo\r\nmg quiet v q\r\nmg quiet v q\r\nmg quietmiss v q\r\nmn\r\nmg quiet v q v\r\nmg foo m o o o\r\nmg foo Tx q\r\nmg\r\n"),
 ("meta: too many", b"mg k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1 D1 I\r\nmg k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1 D1\r\n"),
 ("meta: mix", b"set a 0 0 1\r\n1\r\nmg a v\r\nincr a 1\r\nma a v\r\nget a\r\nmn\r\n"),
 ("meta: errs", b"mg k !\r\nmg k N-\r\nms k 3 MQ\r\nxyz\r\nmd k Cx\r\nma k Jx\r\nme k b\r\nmq k\r\nmg k Fx\r\nmg k Jx\r\nmg k Dx\r\nmg k b\r\nmg k E5\r\nmd k x\r\n"),
 ("meta: opaque", b"mg k O" + b"o"*31 + b"\r\nmg k O" + b"o"*32 + b"\r\nmg k v\r\n"),
 ("meta: blank", b" \n\r\nmn\r\n"),
 ("meta: lead space", b"  mg k v\r\nmn\r\n"),
 ("meta: mn args", b"mn foo bar\r\n"),
 ("meta: mg nokey", b"mg\r\nmd\r\nma\r\nme\r\nms\r\nms k\r\n"),


 ("binary: noop", req(NOOP)+req(NOOP)),
 ("binary: get miss", req(GET,key=b"k")+req(GETK,key=b"k")+req(GETQ,key=b"k")+req(GETKQ,key=b"k")+req(NOOP)),
 ("binary: set get", req(SET,se(0xcafe),b"k",b"value")+req(GET,key=b"k")+req(GETK,key=b"k")+req(GETQ,key=b"k")+req(GETKQ,key=b"k")),
 ("binary: cas", req(SET,se(),b"k",b"v",cas=5)+req(SET,se(),b"k",b"v")+req(SET,se(),b"k",b"w",cas=1)+req(SET,se(),b"k",b"x",cas=1)+req(SETQ,se(),b"k",b"y")+req(SETQ,se(),b"k",b"z",cas=1)+req(ADD,se(),b"k",b"a",cas=3)+req(ADD,se(),b"k",b"a",cas=3)+req(REPLACE,se(),b"nope",b"a",cas=4)+req(NOOP)),
 ("binary: add replace", req(ADD,se(3),b"a",b"1")+req(ADD,se(3),b"a",b"1")+req(ADDQ,se(3),b"b",b"1")+req(ADDQ,se(3),b"b",b"1")+req(REPLACE,se(3),b"c",b"1")+req(REPLACEQ,se(3),b"c",b"1")+req(REPLACE,se(3),b"a",b"2")+req(REPLACEQ,se(3),b"a",b"3")+req(GET,key=b"a")),
 ("binary: delete", req(DELETE,key=b"k")+req(DELETEQ,key=b"k")+req(SET,se(),b"k",b"v")+req(DELETE,key=b"k",cas=9)+req(DELETE,key=b"k",cas=1)+req(SET,se(),b"k",b"v")+req(DELETEQ,key=b"k")+req(GET,key=b"k")),
 ("binary: incr", req(INCR,ae(1,0,0),b"n")*2+req(DECR,ae(5,9,0),b"d")*3+req(INCRQ,ae(7,0,0),b"n")+req(DECRQ,ae(1,0,0),b"n")+req(INCR,ae(0,0,0),b"n")+req(INCR,ae(1,0,0xffffffff),b"x")+req(DECRQ,ae(1,0,0xffffffff),b"x")+req(INCR,ae(2**64-1,0,0),b"n")+req(INCR,ae(1,0,0),b"n",cas=1)+req(INCR,ae(1,0,0),b"n",cas=9)+req(SET,se(),b"s",b"abc")+req(INCR,ae(1,0,0),b"s")),
 ("binary: append", req(APPEND,key=b"k",value=b"x")+req(PREPENDQ,key=b"k",value=b"x")+req(SET,se(),b"k",b"hello")+req(APPEND,key=b"k",value=b" world")+req(PREPENDQ,key=b"k",value=b">")+req(APPENDQ,key=b"k",value=b"<")+req(PREPEND,key=b"k",value=b"!",cas=1)+req(PREPEND,key=b"k",value=b"!",cas=4)+req(GET,key=b"k")),
 ("binary: flush", req(SET,se(),b"a",b"1")+req(FLUSH)+req(GET,key=b"a")+req(SET,se(),b"a",b"1")+req(FLUSHQ,struct.pack(">I",0))+req(GET,key=b"a")+req(NOOP)),
 ("binary: touch gat", req(TOUCH,struct.pack(">I",10),b"k")+req(GAT,struct.pack(">I",10),b"k")+req(GATQ,struct.pack(">I",10),b"k")+req(GATK,struct.pack(">I",10),b"k")+req(GATKQ,struct.pack(">I",10),b"k")+req(SET,se(7),b"k",b"v")+req(TOUCH,struct.pack(">I",10),b"k")+req(GAT,struct.pack(">I",10),b"k")+req(GATQ,struct.pack(">I",10),b"k")+req(GATK,struct.pack(">I",10),b"k")+req(GATKQ,struct.pack(">I",10),b"k")),
 ("binary: stat reset", req(STAT,key=b"reset")+req(STAT,key=b"nonsense")+req(STAT,key=b"detail on")+req(NOOP)),
 ("binary: stat sizes", req(STAT,key=b"sizes")),
 ("binary: stat extra body", req(STAT,key=b"reset",value=req(NOOP))),
 ("binary: touch extra body", req(TOUCH,struct.pack(">I",5),b"k",req(NOOP))),
 ("binary: sasl", req(SASL_LIST)+req(SASL_AUTH,key=b"PLAIN",value=b"\0u\0p")+req(NOOP)+req(SASL_STEP,key=b"PLAIN",value=b"x")+req(NOOP)),
 ("binary: unknown no ext/key", req(0x50,value=b"some value")+req(NOOP)),
 ("binary: bad lengths", req(GET,key=b"key",body=1)+req(NOOP)),
 ("binary: key too long", req(GET,key=b"k"*251)+req(NOOP)),
 ("binary: key too long unknown", req(0x77,key=b"k"*251)+req(NOOP)),
 ("binary: get with extras", req(GET,b"\0\0\0\0",b"k")+req(NOOP)),
 ("binary: getq with value", req(GETQ,key=b"k",value=b"v")+req(NOOP)),
 ("binary: noop with key", req(NOOP,key=b"k")+req(NOOP)),
 ("binary: flush bad", req(FLUSH,b"\0\0")+req(NOOP)),
 ("binary: quitq bad", req(QUITQ,value=b"x")+req(NOOP)),
 ("binary: quit", req(QUIT)+req(NOOP)),
 ("binary: quitq", req(QUITQ)+req(NOOP)),
 ("binary: too large", req(SET,se(),b"k",b"old")+req(SETQ,se(),b"k",b"x"*2000000)+req(GET,key=b"k")+req(SET,se(),b"a",b"old")+req(APPEND,key=b"a",value=b"x"*2000000)+req(GET,key=b"a")),
 ("binary: incr create exp", req(INCR,ae(1,5,10),b"e")+req(GET,key=b"e")),
 ("binary: add with cas miss", req(ADD,se(),b"z",b"v",cas=3)+req(NOOP)),
 ("binary: append cas0 miss", req(APPEND,key=b"z",value=b"v",cas=3)+req(NOOP)),
 ("binary: sasl auth noext nokey", req(SASL_AUTH,value=b"x")+req(NOOP)),
]
CASES += [
 ("binary: stat detail", req(STAT,key=b"detail dump")+req(STAT,key=b"detail off")+req(STAT,key=b"detail")+req(STAT,key=b"detail x")+req(NOOP)),


 ("probe: mg 19 tokens", b"mg k" + f17 + b"\r\n"),
 ("probe: mg 20 tokens", b"mg k" + f17 + b" D1\r\n"),
 ("probe: ms 19 tokens", b"ms k 1" + f17[:-3] + b"\r\nx\r\nmn\r\n"),
 ("probe: ms 20 tokens", b"ms k 1" + f17 + b"\r\nx\r\nmn\r\n"),
 ("probe: md 20 tokens", b"md k" + f17 + b" D1\r\nmd k" + f17 + b"\r\n"),
 ("probe: ma 20 tokens", b"ma k" + f17 + b" D1\r\nma k v\r\n"),
 ("probe: M len", b"mg k M\r\nmg k MEX\r\nms k 1 MEX\r\nx\r\nmn\r\nma k M\r\nmd k M\r\nms k 1 M\r\nx\r\nmn\r\n"),
 ("probe: ms key long", b"ms " + b"k"*251 + b" 1\r\nx\r\nmn\r\n"),
 ("probe: md key long", b"md " + b"k"*251 + b"\r\nma " + b"k"*251 + b"\r\nme " + b"k"*251 + b"\r\n"),
 ("probe: x E flags", b"mg k x\r\nmd k x\r\nma k x\r\nms k 1 x\r\nx\r\nms k 1 E5\r\nx\r\nmn\r\n"),
 ("probe: ms N MA", b"ms k 1 MA N30\r\nx\r\nms k 1\r\ny\r\nms k 1 MA N30 s\r\nz\r\nmg k v s\r\n"),
 ("probe: ma created q", b"ma a q N0\r\nma a q N0\r\nma b q N0 v\r\nmn\r\n"),
 ("probe: mg errstrs", b"mg k Fx Tx\r\nmg k Tx Fx\r\nmg k Dx Tx\r\nmg k Tx z\r\n"),
 ("probe: ms errs", b"ms k 1 Fx\r\nx\r\nmn\r\nms k 1 Tx z\r\nx\r\nmn\r\nms k x\r\nx\r\nmn\r\nms k 2147483646\r\nmn\r\n"),
 ("probe: mg dup after bad", b"mg k Tx v v\r\nmg \xff\xfe v\r\nmg k \xff\r\n"),
 ("probe: opaque len ms", b"ms k 1 O" + b"o"*32 + b"\r\nx\r\nmn\r\n"),
 ("probe: opaque len md ma", b"md k O" + b"o"*32 + b"\r\nma k O" + b"o"*32 + b"\r\nmn\r\n"),
 ("probe: stale ms no cas", b"ms k 1\r\nx\r\nms k 1 I\r\ny\r\nmg k v\r\n"),
 ("probe: md I miss q", b"md k I q\r\nmn\r\n"),
 ("probe: me extra", b"ms k 1\r\nx\r\nme k x y\r\nme k b\r\n"),
 ("probe: mg nul", b"ms k 1\r\nx\r\nmg k\x00 v\r\nmg k v\x00\r\n"),
 ("probe: mg tab", b"ms k 1\r\nx\r\nmg k\tv\r\n"),
 ("probe: R0 N0", b"mg k N0 R0 t v\r\nmg k R0\r\n"),
 ("probe: ma T created", b"ma c N30 t T60 t v\r\nmg c t\r\n"),
 ("probe: ms F big", b"ms k 1 F4294967296\r\nx\r\nmg k f\r\nms k 1 F-1\r\nx\r\nmg k f\r\n"),
 ("probe: ma D big", b"set n 0 0 1\r\n5\r\nma n D18446744073709551616\r\nma n D-1 v\r\nma n J-0 N0 v\r\n"),

]
