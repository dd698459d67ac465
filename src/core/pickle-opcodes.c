/*
 * pickle-opcodes.c - the opcode table: names and protocols, from
 * pickletools.
 * See pickle-base.h.
 */
#include "pickle-base.h"

/* Names and the protocol that brought each opcode, from pickletools. */
const struct opcode pickle_opcodes[256] = {
	[OP_MARK] = { "MARK", 0 }, [OP_EMPTY_TUPLE] = { "EMPTY_TUPLE", 1 },
	[OP_STOP] = { "STOP", 0 }, [OP_POP] = { "POP", 0 },
	[OP_POP_MARK] = { "POP_MARK", 1 }, [OP_DUP] = { "DUP", 0 },
	[OP_BINBYTES] = { "BINBYTES", 3 },
	[OP_SHORT_BINBYTES] = { "SHORT_BINBYTES", 3 },
	[OP_FLOAT] = { "FLOAT", 0 }, [OP_BINFLOAT] = { "BINFLOAT", 1 },
	[OP_INT] = { "INT", 0 }, [OP_BININT] = { "BININT", 1 },
	[OP_BININT1] = { "BININT1", 1 }, [OP_LONG] = { "LONG", 0 },
	[OP_BININT2] = { "BININT2", 1 }, [OP_NONE] = { "NONE", 0 },
	[OP_PERSID] = { "PERSID", 0 }, [OP_BINPERSID] = { "BINPERSID", 1 },
	[OP_REDUCE] = { "REDUCE", 0 }, [OP_STRING] = { "STRING", 0 },
	[OP_BINSTRING] = { "BINSTRING", 1 },
	[OP_SHORT_BINSTRING] = { "SHORT_BINSTRING", 1 },
	[OP_UNICODE] = { "UNICODE", 0 }, [OP_BINUNICODE] = { "BINUNICODE", 1 },
	[OP_EMPTY_LIST] = { "EMPTY_LIST", 1 }, [OP_APPEND] = { "APPEND", 0 },
	[OP_BUILD] = { "BUILD", 0 }, [OP_GLOBAL] = { "GLOBAL", 0 },
	[OP_DICT] = { "DICT", 0 }, [OP_APPENDS] = { "APPENDS", 1 },
	[OP_GET] = { "GET", 0 }, [OP_BINGET] = { "BINGET", 1 },
	[OP_INST] = { "INST", 0 }, [OP_LONG_BINGET] = { "LONG_BINGET", 1 },
	[OP_LIST] = { "LIST", 0 }, [OP_OBJ] = { "OBJ", 1 },
	[OP_PUT] = { "PUT", 0 }, [OP_BINPUT] = { "BINPUT", 1 },
	[OP_LONG_BINPUT] = { "LONG_BINPUT", 1 },
	[OP_SETITEM] = { "SETITEM", 0 }, [OP_TUPLE] = { "TUPLE", 0 },
	[OP_SETITEMS] = { "SETITEMS", 1 }, [OP_EMPTY_DICT] = { "EMPTY_DICT", 1 },
	[OP_PROTO] = { "PROTO", 2 }, [OP_NEWOBJ] = { "NEWOBJ", 2 },
	[OP_EXT1] = { "EXT1", 2 }, [OP_EXT2] = { "EXT2", 2 },
	[OP_EXT4] = { "EXT4", 2 }, [OP_TUPLE1] = { "TUPLE1", 2 },
	[OP_TUPLE2] = { "TUPLE2", 2 }, [OP_TUPLE3] = { "TUPLE3", 2 },
	[OP_NEWTRUE] = { "NEWTRUE", 2 }, [OP_NEWFALSE] = { "NEWFALSE", 2 },
	[OP_LONG1] = { "LONG1", 2 }, [OP_LONG4] = { "LONG4", 2 },
	[OP_SHORT_BINUNICODE] = { "SHORT_BINUNICODE", 4 },
	[OP_BINUNICODE8] = { "BINUNICODE8", 4 },
	[OP_BINBYTES8] = { "BINBYTES8", 4 }, [OP_EMPTY_SET] = { "EMPTY_SET", 4 },
	[OP_ADDITEMS] = { "ADDITEMS", 4 }, [OP_FROZENSET] = { "FROZENSET", 4 },
	[OP_NEWOBJ_EX] = { "NEWOBJ_EX", 4 },
	[OP_STACK_GLOBAL] = { "STACK_GLOBAL", 4 },
	[OP_MEMOIZE] = { "MEMOIZE", 4 }, [OP_FRAME] = { "FRAME", 4 },
	[OP_BYTEARRAY8] = { "BYTEARRAY8", 5 },
	[OP_NEXT_BUFFER] = { "NEXT_BUFFER", 5 },
	[OP_READONLY_BUFFER] = { "READONLY_BUFFER", 5 },
};
