/*
 * pickle-exceptions.c - exceptions as CPython's repr() shows them:
 * Name(arg, ...), from BaseException.__reduce__'s (cls, args[, dict]).
 * See pickle.h.
 *
 * repr() of an exception is its class's short name and its args, which
 * for OSError are not all the arguments it was made with: OSError(2, 's',
 * 'file') has args (2, 's'), and OSError itself, called with an errno,
 * makes the subclass of that errno (FileNotFoundError for ENOENT).  The
 * state (BUILD of the instance's __dict__: notes, attributes) is not in
 * its repr().  CPython <= 3.6 wrote a lone argument as a 1-tuple:
 * KeyError('missing',).
 */
#include "pickle.h"

/* Builtin exception classes, and aliases with another __name__. */
static const char *const builtin_exceptions[] = {
	"ArithmeticError", "AssertionError", "AttributeError",
	"BaseException", "BaseExceptionGroup", "BlockingIOError",
	"BrokenPipeError", "BufferError", "BytesWarning", "ChildProcessError",
	"ConnectionAbortedError", "ConnectionError", "ConnectionRefusedError",
	"ConnectionResetError", "DeprecationWarning", "EOFError",
	"EncodingWarning", "Exception", "ExceptionGroup", "FileExistsError",
	"FileNotFoundError", "FloatingPointError", "FutureWarning",
	"GeneratorExit", "ImportError", "ImportWarning", "IndentationError",
	"IndexError", "InterruptedError", "IsADirectoryError", "KeyError",
	"KeyboardInterrupt", "LookupError", "MemoryError",
	"ModuleNotFoundError", "NameError", "NotADirectoryError",
	"NotImplementedError", "OSError", "OverflowError",
	"PendingDeprecationWarning", "PermissionError", "ProcessLookupError",
	"PythonFinalizationError", "RecursionError", "ReferenceError",
	"ResourceWarning", "RuntimeError", "RuntimeWarning",
	"StopAsyncIteration", "StopIteration", "SyntaxError", "SyntaxWarning",
	"SystemError", "SystemExit", "TabError", "TimeoutError", "TypeError",
	"UnboundLocalError", "UnicodeDecodeError", "UnicodeEncodeError",
	"UnicodeError", "UnicodeTranslateError", "UnicodeWarning",
	"UserWarning", "ValueError", "Warning", "ZeroDivisionError",
};

/* Other exceptions whose repr() is BaseException's: module, name. */
static const char *const stdlib_exceptions[][2] = {
	{ "_queue", "Empty" }, { "queue", "Empty" }, { "queue", "Full" },
	{ "multiprocessing.context", "ProcessError" },
	{ "multiprocessing.context", "BufferTooShort" },
	{ "multiprocessing.context", "TimeoutError" },
	{ "multiprocessing.context", "AuthenticationError" },
	{ "multiprocessing.managers", "RemoteError" },
	{ "subprocess", "CalledProcessError" },
	{ "subprocess", "TimeoutExpired" },
};

/* OSError(errno, ...)'s classes by errno, Linux's numbers (the sender's
 * platform is not in the pickle; Linux is the likely one). */
static const struct {
	int64_t errno_value;
	const char *name;
} errno_classes[] = {
	{ 1, "PermissionError" }, { 2, "FileNotFoundError" },
	{ 3, "ProcessLookupError" }, { 4, "InterruptedError" },
	{ 10, "ChildProcessError" }, { 11, "BlockingIOError" },
	{ 13, "PermissionError" }, { 17, "FileExistsError" },
	{ 20, "NotADirectoryError" }, { 21, "IsADirectoryError" },
	{ 32, "BrokenPipeError" }, { 103, "ConnectionAbortedError" },
	{ 104, "ConnectionResetError" }, { 108, "BrokenPipeError" },
	{ 110, "TimeoutError" }, { 111, "ConnectionRefusedError" },
	{ 114, "BlockingIOError" }, { 115, "BlockingIOError" },
};

/* The OSError family, whose args drop the file names. */
static const char *const os_errors[] = {
	"OSError", "EnvironmentError", "IOError", "BlockingIOError", "ChildProcessError", "ConnectionError",
	"BrokenPipeError", "ConnectionAbortedError", "ConnectionRefusedError",
	"ConnectionResetError", "FileExistsError", "FileNotFoundError",
	"InterruptedError", "IsADirectoryError", "NotADirectoryError",
	"PermissionError", "ProcessLookupError", "TimeoutError",
};

/* An exception as repr() sees it: its name and its args. */
struct exception {
	const char *name;	/* NULL: the global's own name */
	struct node *cls;
	struct node **args;
	size_t nargs;
};

static bool in_list(struct text t, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pickle_text_is(t, names[i]))
			return true;
	return false;
}

static bool is_exception_class(const struct node *g)
{
	size_t i;

	if (g->kind != K_GLOBAL)
		return false;
	if (pickle_text_is(g->u.g.module, "builtins"))
		return in_list(g->u.g.name, builtin_exceptions,
			       COUNT(builtin_exceptions)) ||
		       pickle_text_is(g->u.g.name, "EnvironmentError") ||
		       pickle_text_is(g->u.g.name, "IOError");
	for (i = 0; i < COUNT(stdlib_exceptions); i++)
		if (pickle_global_is(g, stdlib_exceptions[i][0],
				     stdlib_exceptions[i][1]))
			return true;
	return false;
}

bool pickle_exception_known(const char *module, const char *name)
{
	size_t i;

	if (strcmp(module, "builtins") == 0) {
		for (i = 0; i < COUNT(builtin_exceptions); i++)
			if (strcmp(name, builtin_exceptions[i]) == 0)
				return true;
		return strcmp(name, "EnvironmentError") == 0 ||
		       strcmp(name, "IOError") == 0;
	}
	for (i = 0; i < COUNT(stdlib_exceptions); i++)
		if (strcmp(module, stdlib_exceptions[i][0]) == 0 &&
		    strcmp(name, stdlib_exceptions[i][1]) == 0)
			return true;
	return false;
}

/* An int's value as a dict key of ints finds it (True is 1). */
static bool small_int(const struct node *n, int64_t *v)
{
	if (n->kind == K_BOOL)
		*v = n->u.b;
	else if (n->kind == K_INT && n->u.i.digits == NULL)
		*v = n->u.i.v;
	else
		return false;
	return true;
}

static bool is_number(const struct node *n)
{
	return n->kind == K_INT || n->kind == K_BOOL || n->kind == K_FLOAT ||
	       n->kind == K_COMPLEX;
}

/* OSError's __new__ and __init__: the class of the errno, args without
 * the file names (unless the third is None, or BlockingIOError's count
 * of characters written). */
static void os_error(struct exception *x)
{
	bool base = pickle_text_is(x->cls->u.g.name, "OSError") ||
		    pickle_text_is(x->cls->u.g.name, "EnvironmentError") ||
		    pickle_text_is(x->cls->u.g.name, "IOError");
	const char *name = base ? "OSError" : NULL;
	int64_t code;
	size_t i;

	if (x->nargs < 2 || x->nargs > 5)
		goto done;
	if (base && small_int(x->args[0], &code))
		for (i = 0; i < COUNT(errno_classes); i++)
			if (errno_classes[i].errno_value == code)
				name = errno_classes[i].name;
	if (x->nargs >= 3 && x->args[2] != &pickle_node_none &&
	    !(is_number(x->args[2]) &&
	      (name != NULL ? strcmp(name, "BlockingIOError") == 0
			    : pickle_text_is(x->cls->u.g.name,
					     "BlockingIOError"))))
		x->nargs = 2;
done:
	x->name = name;
}

/* Whether n is a known exception made the way pickle makes one; BUILD's
 * states must be dicts (or None), as BaseException.__setstate__ takes. */
static bool exception_of(struct node *n, struct exception *x)
{
	const struct effects *e = n->effects;
	size_t i;

	if (n->u.call.form != CALL_REDUCE ||
	    !is_exception_class(n->u.call.func))
		return false;
	for (i = 0; e != NULL && i < e->n; i++)
		if (e->v[i].kind != EFFECT_STATE ||
		    (e->v[i].a != &pickle_node_none && e->v[i].a->kind != K_DICT))
			return false;
	x->cls = n->u.call.func;
	x->args = n->u.call.args->u.seq.items;
	x->nargs = n->u.call.args->u.seq.n;
	x->name = NULL;
	if (pickle_text_is(x->cls->u.g.module, "builtins") &&
	    in_list(x->cls->u.g.name, os_errors, COUNT(os_errors)))
		os_error(x);
	return true;
}

static void put_name(struct out *o, const struct exception *x)
{
	if (x->name != NULL)
		pickle_out_str(o, x->name);
	else
		pickle_out_put(o, x->cls->u.g.name.p, x->cls->u.g.name.n);
}

bool pickle_repr_exception(struct render *r, struct node *n, int depth)
{
	struct exception x;

	if (!exception_of(n, &x))
		return false;
	put_name(r->o, &x);
	pickle_out_char(r->o, '(');
	pickle_repr_items(r, x.args, x.nargs, depth);
	pickle_out_str(r->o, x.nargs == 1 && pickle_python_before(r, 307)
			     ? ",)" : ")");
	return true;
}

/* {"__exception__": {"type": NAME, "args": [...]}}: NAME as repr() shows
 * it for builtins, dotted (module.name) for the others. */
bool pickle_json_exception(struct render *r, struct node *n, int depth)
{
	struct exception x;

	if (!exception_of(n, &x))
		return false;
	pickle_out_str(r->o, "{\"__exception__\": {\"type\": ");
	if (x.name != NULL)
		pickle_json_string(r->o, x.name, strlen(x.name));
	else if (pickle_text_is(x.cls->u.g.module, "builtins"))
		pickle_json_string(r->o, x.cls->u.g.name.p, x.cls->u.g.name.n);
	else
		pickle_json_dotted(r->o, x.cls);
	pickle_out_str(r->o, ", \"args\": ");
	pickle_json_array(r, x.args, x.nargs, depth);
	pickle_out_str(r->o, "}}");
	return true;
}
