/*
 * pickle-dis.c - the DIS rendering: pickletools.dis().
 * See pickle.h.
 */
#include "pickle.h"

/* The argument as pickletools shows it: an int, a value's repr, or a
 * str ("module name" for GLOBAL and INST). */
static void list_arg(struct decoder *d)
{
	struct render r = { d->listing, false, 0 };
	struct out *o = d->listing;
	char *joined;

	switch (d->arg.kind) {
	case ARG_INT:
		pickle_out_fmt(o, " %lld", (long long)d->arg.v);
		break;
	case ARG_NODE:
		pickle_out_char(o, ' ');
		pickle_repr_node(&r, d->arg.node, 0);
		break;
	case ARG_TEXT:
		pickle_out_char(o, ' ');
		pickle_repr_str(o, d->arg.t1.p, d->arg.t1.n);
		break;
	case ARG_PAIR:
		joined = malloc(d->arg.t1.n + d->arg.t2.n + 2);
		if (joined == NULL) {
			o->err = CONN_ENOMEM;
			break;
		}
		/* Not sprintf: a NUL in a name would end its %.*s early. */
		memcpy(joined, d->arg.t1.p, d->arg.t1.n);
		joined[d->arg.t1.n] = ' ';
		memcpy(joined + d->arg.t1.n + 1, d->arg.t2.p, d->arg.t2.n);
		pickle_out_char(o, ' ');
		pickle_repr_str(o, joined, d->arg.t1.n + d->arg.t2.n + 1);
		free(joined);
		break;
	default:
		break;
	}
}

/* One line of pickletools.dis() for the opcode just run; indent is the
 * count of MARKs open before it. */
void pickle_list_opcode(struct decoder *d, int op, size_t indent)
{
	struct out *o = d->listing;
	const char *name = pickle_opcodes[op].name;
	size_t pad = strlen(name) < 10 ? 10 - strlen(name) : 0;

	pickle_out_fmt(o, "%5zu: ", d->op_pos);
	if (op >= 0x20 && op < 0x7f)
		pickle_out_fmt(o, "%-4c ", op);
	else
		pickle_out_fmt(o, "\\x%02x ", (unsigned)op);
	pickle_out_spaces(o, 4 * indent);
	pickle_out_str(o, name);
	if (d->arg.kind != ARG_NONE || d->popped_mark >= 0 ||
	    d->memoized_as >= 0)
		pickle_out_spaces(o, pad);
	list_arg(d);
	if (d->popped_mark >= 0)
		pickle_out_fmt(o, " (MARK at %ld)", d->popped_mark);
	if (d->memoized_as >= 0)
		pickle_out_fmt(o, " (as %ld)", d->memoized_as);
	pickle_out_char(o, '\n');
}

