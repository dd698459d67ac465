/*
 * pickle-call.c - globals, fix_imports and calls: what would run code, and
 * the few calls made values.
 * See pickle.h.
 */
#include "pickle.h"

#include <strings.h>

/* The exceptions module's names that move to builtins unchanged
 * (_compat_pickle's PYTHON2_EXCEPTIONS). */
static const char *const python2_exceptions[] = {
	"ArithmeticError", "AssertionError", "AttributeError",
	"BaseException", "BufferError", "BytesWarning", "DeprecationWarning",
	"EOFError", "EnvironmentError", "Exception", "FloatingPointError",
	"FutureWarning", "GeneratorExit", "IOError", "ImportError",
	"ImportWarning", "IndentationError", "IndexError", "KeyError",
	"KeyboardInterrupt", "LookupError", "MemoryError", "NameError",
	"NotImplementedError", "OSError", "OverflowError",
	"PendingDeprecationWarning", "ReferenceError", "RuntimeError",
	"RuntimeWarning", "StopIteration", "SyntaxError", "SyntaxWarning",
	"SystemError", "SystemExit", "TabError", "TypeError",
	"UnboundLocalError", "UnicodeDecodeError", "UnicodeEncodeError",
	"UnicodeError", "UnicodeTranslateError", "UnicodeWarning",
	"UserWarning", "ValueError", "Warning", "ZeroDivisionError",
};

bool pickle_python2_exception(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < COUNT(python2_exceptions); i++)
		if (strlen(python2_exceptions[i]) == n &&
		    memcmp(name, python2_exceptions[i], n) == 0)
			return true;
	return false;
}

/* Lib/_compat_pickle.py: Python 2 names in protocols 0-2, read as the
 * Python 3 names the unpickler imports instead. */
static const char *const import_mapping[][2] = {
	{ "__builtin__", "builtins" }, { "copy_reg", "copyreg" },
	{ "Queue", "queue" }, { "SocketServer", "socketserver" },
	{ "ConfigParser", "configparser" }, { "repr", "reprlib" },
	{ "tkFileDialog", "tkinter.filedialog" },
	{ "tkSimpleDialog", "tkinter.simpledialog" },
	{ "tkColorChooser", "tkinter.colorchooser" },
	{ "tkCommonDialog", "tkinter.commondialog" },
	{ "Dialog", "tkinter.dialog" }, { "Tkdnd", "tkinter.dnd" },
	{ "tkFont", "tkinter.font" }, { "tkMessageBox", "tkinter.messagebox" },
	{ "ScrolledText", "tkinter.scrolledtext" },
	{ "Tkconstants", "tkinter.constants" }, { "Tix", "tkinter.tix" },
	{ "ttk", "tkinter.ttk" }, { "Tkinter", "tkinter" },
	{ "markupbase", "_markupbase" }, { "_winreg", "winreg" },
	{ "thread", "_thread" }, { "dummy_thread", "_dummy_thread" },
	{ "dbhash", "dbm.bsd" }, { "dumbdbm", "dbm.dumb" },
	{ "dbm", "dbm.ndbm" }, { "gdbm", "dbm.gnu" },
	{ "xmlrpclib", "xmlrpc.client" },
	{ "SimpleXMLRPCServer", "xmlrpc.server" },
	{ "httplib", "http.client" }, { "htmlentitydefs", "html.entities" },
	{ "HTMLParser", "html.parser" }, { "Cookie", "http.cookies" },
	{ "cookielib", "http.cookiejar" }, { "BaseHTTPServer", "http.server" },
	{ "test.test_support", "test.support" }, { "commands", "subprocess" },
	{ "urlparse", "urllib.parse" }, { "robotparser", "urllib.robotparser" },
	{ "urllib2", "urllib.request" }, { "anydbm", "dbm" },
	{ "_abcoll", "collections.abc" }, { "cPickle", "pickle" },
	{ "_elementtree", "xml.etree.ElementTree" },
	{ "FileDialog", "tkinter.filedialog" },
	{ "SimpleDialog", "tkinter.simpledialog" },
	{ "DocXMLRPCServer", "xmlrpc.server" },
	{ "SimpleHTTPServer", "http.server" },
	{ "CGIHTTPServer", "http.server" }, { "UserDict", "collections" },
	{ "UserList", "collections" }, { "UserString", "collections" },
	{ "whichdb", "dbm" }, { "StringIO", "io" }, { "cStringIO", "io" },
};

static const char *const name_mapping[][4] = {
	{ "__builtin__", "xrange", "builtins", "range" },
	{ "__builtin__", "reduce", "functools", "reduce" },
	{ "__builtin__", "intern", "sys", "intern" },
	{ "__builtin__", "unichr", "builtins", "chr" },
	{ "__builtin__", "unicode", "builtins", "str" },
	{ "__builtin__", "long", "builtins", "int" },
	{ "__builtin__", "basestring", "builtins", "str" },
	{ "itertools", "izip", "builtins", "zip" },
	{ "itertools", "imap", "builtins", "map" },
	{ "itertools", "ifilter", "builtins", "filter" },
	{ "itertools", "ifilterfalse", "itertools", "filterfalse" },
	{ "itertools", "izip_longest", "itertools", "zip_longest" },
	{ "UserDict", "IterableUserDict", "collections", "UserDict" },
	{ "UserDict", "UserDict", "collections", "UserDict" },
	{ "UserList", "UserList", "collections", "UserList" },
	{ "UserString", "UserString", "collections", "UserString" },
	{ "whichdb", "whichdb", "dbm", "whichdb" },
	{ "_socket", "fromfd", "socket", "fromfd" },
	{ "socket", "_socketobject", "socket", "SocketType" },
	{ "_multiprocessing", "Connection", "multiprocessing.connection",
	  "Connection" },
	{ "multiprocessing.process", "Process", "multiprocessing.context",
	  "Process" },
	{ "multiprocessing.forking", "Popen", "multiprocessing.popen_fork",
	  "Popen" },
	{ "urllib", "ContentTooShortError", "urllib.error",
	  "ContentTooShortError" },
	{ "urllib", "getproxies", "urllib.request", "getproxies" },
	{ "urllib", "pathname2url", "urllib.request", "pathname2url" },
	{ "urllib", "quote_plus", "urllib.parse", "quote_plus" },
	{ "urllib", "quote", "urllib.parse", "quote" },
	{ "urllib", "unquote_plus", "urllib.parse", "unquote_plus" },
	{ "urllib", "unquote", "urllib.parse", "unquote" },
	{ "urllib", "url2pathname", "urllib.request", "url2pathname" },
	{ "urllib", "urlcleanup", "urllib.request", "urlcleanup" },
	{ "urllib", "urlencode", "urllib.parse", "urlencode" },
	{ "urllib", "urlopen", "urllib.request", "urlopen" },
	{ "urllib", "urlretrieve", "urllib.request", "urlretrieve" },
	{ "urllib2", "HTTPError", "urllib.error", "HTTPError" },
	{ "urllib2", "URLError", "urllib.error", "URLError" },
	{ "exceptions", "StandardError", "builtins", "Exception" },
	{ "multiprocessing", "AuthenticationError",
	  "multiprocessing.context", "AuthenticationError" },
	{ "multiprocessing", "BufferTooShort", "multiprocessing.context",
	  "BufferTooShort" },
	{ "multiprocessing", "ProcessError", "multiprocessing.context",
	  "ProcessError" },
	{ "multiprocessing", "TimeoutError", "multiprocessing.context",
	  "TimeoutError" },
};



bool pickle_text_is(struct text t, const char *s)
{
	return t.n == strlen(s) && memcmp(t.p, s, t.n) == 0;
}

static struct text text_of(const char *s)
{
	return (struct text){ s, strlen(s) };
}

/* find_class()'s renaming: names first, then whole modules. */
static void fix_imports(struct text *module, struct text *name)
{
	size_t i;

	for (i = 0; i < COUNT(name_mapping); i++)
		if (pickle_text_is(*module, name_mapping[i][0]) &&
		    pickle_text_is(*name, name_mapping[i][1])) {
			*module = text_of(name_mapping[i][2]);
			*name = text_of(name_mapping[i][3]);
			return;
		}
	if (pickle_text_is(*module, "exceptions")) {
		if (pickle_python2_exception(name->p, name->n))
			*module = text_of("builtins");
		return;
	}
	for (i = 0; i < COUNT(import_mapping); i++)
		if (pickle_text_is(*module, import_mapping[i][0])) {
			*module = text_of(import_mapping[i][1]);
			return;
		}
}

static int push_global(struct decoder *d, struct text module,
		       struct text name)
{
	struct node *n;
	int rc;

	if (pickle_utf8_check((const uint8_t *)module.p, module.n) !=
		    module.n ||
	    pickle_utf8_check((const uint8_t *)name.p, name.n) != name.n)
		return pickle_fail(d, CONN_EPROTO, "a global's name is not "
				   "UTF-8");
	if (d->proto < 3)
		fix_imports(&module, &name);
	rc = pickle_node_new(d, &n, K_GLOBAL);
	if (rc)
		return rc;
	n->u.g.module = module;
	n->u.g.name = name;
	if (d->audit != NULL)
		rc = pickle_audit_event(d, AUDIT_GLOBAL, n, NULL, NULL);
	return rc ? rc : pickle_push(d, n);
}

bool pickle_global_is(const struct node *n, const char *module,
		      const char *name)
{
	return n->kind == K_GLOBAL && pickle_text_is(n->u.g.module, module) &&
	       pickle_text_is(n->u.g.name, name);
}

/* ---------------------------------------------------------------- calls */

int pickle_spend_copies(struct decoder *d, size_t n)
{
	if (n > d->copy_budget)
		return pickle_fail(d, CONN_ETOOBIG, "the pickle asks for more "
				   "copying than its size allows");
	d->copy_budget -= n;
	return 0;
}

/* What set() iterates here: sequences, sets and dicts. */
static bool is_sequence(const struct node *n)
{
	return n->kind == K_LIST || n->kind == K_TUPLE || n->kind == K_SET ||
	       n->kind == K_FROZENSET || n->kind == K_DICT;
}

/* set(iterable) and frozenset(iterable), the way protocols 0-3 carry them. */
static int make_set(struct decoder *d, struct node **out, enum kind kind,
		    struct node *args)
{
	struct node *from = args->u.seq.n ? args->u.seq.items[0] : NULL;
	size_t i;
	int rc;

	if (args->u.seq.n > 1 || (from != NULL && !is_sequence(from)))
		return 0;
	rc = pickle_node_new(d, out, kind);
	if (rc || from == NULL)
		goto done;
	rc = pickle_spend_copies(d, from->u.seq.n);
	for (i = 0; !rc && i < from->u.seq.n; i++)	/* a dict gives keys */
		rc = pickle_set_add(d, *out, from->kind == K_DICT
					     ? pickle_entry_key(from, i)
					     : from->u.seq.items[i]);
done:
	if (!rc && kind == K_FROZENSET)
		pickle_frozenset_seal(*out);
	return rc;
}

/* The codecs a str is encoded with to pickle bytes (protocols 0-2). */
enum codec { CODEC_NONE, CODEC_LATIN1, CODEC_ASCII, CODEC_UTF8 };

/* Python's lookup: lower case, other runs of punctuation as one '_',
 * then the aliases (Lib/encodings/aliases.py) of three codecs. */
static enum codec codec_of(const struct node *n)
{
	static const char *const names[][2] = {
		{ "latin_1", "L" }, { "latin1", "L" }, { "latin", "L" },
		{ "l1", "L" }, { "iso8859_1", "L" }, { "iso_8859_1", "L" },
		{ "iso8859", "L" }, { "8859", "L" }, { "cp819", "L" },
		{ "ibm819", "L" }, { "csisolatin1", "L" },
		{ "iso_8859_1_1987", "L" }, { "iso_ir_100", "L" },
		{ "ascii", "A" }, { "us_ascii", "A" }, { "646", "A" },
		{ "us", "A" }, { "utf_8", "U" }, { "utf8", "U" }, { "u8", "U" },
		{ "utf", "U" }, { "utf8_ucs2", "U" }, { "utf8_ucs4", "U" },
	};
	char name[24];
	size_t i, k = 0;

	if (n->kind != K_STR || n->u.s.n >= sizeof(name))
		return CODEC_NONE;
	for (i = 0; i < n->u.s.n; i++) {
		char c = n->u.s.p[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')
			name[k++] = c;
		else if (c >= 'A' && c <= 'Z')
			name[k++] = (char)(c - 'A' + 'a');
		else if (k > 0 && name[k - 1] != '_')
			name[k++] = '_';
	}
	while (k > 0 && name[k - 1] == '_')
		k--;
	name[k] = '\0';
	for (i = 0; i < COUNT(names); i++)
		if (strcmp(name, names[i][0]) == 0)
			return names[i][1][0] == 'L' ? CODEC_LATIN1
			       : names[i][1][0] == 'A' ? CODEC_ASCII
						       : CODEC_UTF8;
	return CODEC_NONE;
}

/*
 * str.encode(codec) into a new node of kind, unless a character does not
 * fit (or is a surrogate, for UTF-8): then *out stays NULL and the call
 * is shown as it is, since CPython would fail.
 */
static int make_encoded(struct decoder *d, struct node **out, enum kind kind,
			const struct node *s, enum codec codec)
{
	const uint8_t *p = (const uint8_t *)s->u.s.p;
	uint32_t cp, top = codec == CODEC_ASCII ? 0x7f : codec == CODEC_LATIN1
						     ? 0xff : 0x10ffff;
	uint8_t *bytes;
	size_t i = 0, n = 0, len;
	int rc;

	if (codec == CODEC_NONE)
		return 0;
	rc = pickle_spend_copies(d, s->u.s.n);
	if (rc)
		return rc;
	bytes = malloc(s->u.s.n + 1);
	if (bytes == NULL)
		return pickle_no_memory(d);
	while (i < s->u.s.n) {
		len = pickle_utf8_decode(p + i, s->u.s.n - i, &cp);
		if (len == 0 || cp > top || (cp >= 0xd800 && cp <= 0xdfff)) {
			free(bytes);
			return 0;
		}
		if (codec == CODEC_UTF8)
			n += pickle_utf8_encode(bytes + n, cp);
		else
			bytes[n++] = (uint8_t)cp;
		i += len;
	}
	rc = pickle_node_new(d, out, kind);
	if (rc) {
		free(bytes);
		return rc;
	}
	(*out)->u.s.p = (const char *)bytes;
	(*out)->u.s.n = n;
	(*out)->owned = true;
	return 0;
}

/* bytes() and bytearray(): empty, of bytes, or of a str and a codec. */
static int make_bytes(struct decoder *d, struct node **out, enum kind kind,
		      struct node *args)
{
	struct node **a = args->u.seq.items;
	size_t n = args->u.seq.n;
	int rc;

	if (n == 2 && a[0]->kind == K_STR)
		return make_encoded(d, out, kind, a[0], codec_of(a[1]));
	if (n > 1 || (n == 1 && a[0]->kind != K_BYTES &&
		      a[0]->kind != K_BYTEARRAY))
		return 0;
	if (n == 1 && kind == K_BYTES && a[0]->kind == K_BYTES) {
		*out = a[0];	/* bytes(b) is b */
		return 0;
	}
	rc = pickle_node_new(d, out, kind);
	if (!rc && n == 1)	/* shared, owned by a[0]; neither changes */
		(*out)->u.s = a[0]->u.s;
	return rc;
}

/* A real number complex() takes, as a double. */
static bool real_value(const struct node *n, double *x)
{
	if (n->kind == K_FLOAT)
		*x = n->u.f.v;
	else if (n->kind == K_BOOL)
		*x = n->u.b;
	else if (n->kind == K_INT && n->u.i.digits == NULL)
		*x = (double)n->u.i.v;
	else
		return false;
	return true;
}

static int make_complex(struct decoder *d, struct node **out,
			struct node *args)
{
	double re = 0, im = 0;
	struct node **a = args->u.seq.items;
	size_t n = args->u.seq.n;
	int rc;

	if (n > 2 || (n >= 1 && !real_value(a[0], &re)) ||
	    (n == 2 && !real_value(a[1], &im)))
		return 0;
	rc = pickle_node_new(d, out, K_COMPLEX);
	if (rc)
		return rc;
	(*out)->u.c.re = re;
	(*out)->u.c.im = im;
	return 0;
}

static bool is_pair(const struct node *n)
{
	return (n->kind == K_TUPLE || n->kind == K_LIST) && n->u.seq.n == 2;
}

/* OrderedDict() and OrderedDict([(key, value), ...]). */
static int make_ordered_dict(struct decoder *d, struct node **out,
			     struct node *args)
{
	struct node *from = args->u.seq.n ? args->u.seq.items[0] : NULL;
	struct node *pair;
	size_t i;
	int rc;

	if (args->u.seq.n > 1 ||
	    (from != NULL && from->kind != K_LIST && from->kind != K_TUPLE))
		return 0;
	for (i = 0; from != NULL && i < from->u.seq.n; i++)
		if (!is_pair(from->u.seq.items[i]))
			return 0;
	rc = pickle_node_new(d, out, K_DICT);
	if (rc)
		return rc;
	(*out)->ordered = true;
	if (from == NULL)
		return 0;
	rc = pickle_spend_copies(d, from->u.seq.n);
	for (i = 0; !rc && i < from->u.seq.n; i++) {
		pair = from->u.seq.items[i];
		rc = pickle_dict_set(d, *out, pair->u.seq.items[0],
				     pair->u.seq.items[1]);
	}
	return rc;
}

int pickle_call_node(struct decoder *d, struct node **out,
		     enum call_form form, struct node *func,
		     struct node *args, struct node *kwargs)
{
	int rc = pickle_node_new(d, out, K_CALL);

	if (rc)
		return rc;
	(*out)->u.call.form = form;
	(*out)->u.call.func = func;
	(*out)->u.call.args = args;
	(*out)->u.call.kwargs = kwargs;
	return 0;
}

/* type(None), type(...) and type(NotImplemented): how pickle carries
 * these classes, which have no name in builtins to be found by. */
static int make_singleton_type(struct decoder *d, struct node **out,
			       const struct node *of)
{
	const char *name = of == &pickle_node_none ? "NoneType"
			 : pickle_global_is(of, "builtins", "Ellipsis")
			 ? "ellipsis"
			 : pickle_global_is(of, "builtins", "NotImplemented")
			 ? "NotImplementedType" : NULL;
	int rc;

	if (name == NULL)
		return 0;
	rc = pickle_node_new(d, out, K_GLOBAL);
	if (rc == 0) {
		(*out)->u.g.module = text_of("builtins");
		(*out)->u.g.name = text_of(name);
	}
	return rc;
}

/*
 * The value CPython would make of func(*args) for the few callables whose
 * results pickle carries by value (see the top comment), or NULL.
 */
static int make_known(struct decoder *d, struct node **out,
		      struct node *func, struct node *args)
{
	struct node **a = args->u.seq.items;
	size_t n = args->u.seq.n;
	int rc = pickle_make_folded(d, out, func, args);

	if (rc || *out != NULL)
		return rc;
	if (pickle_global_is(func, "builtins", "set"))
		return make_set(d, out, K_SET, args);
	if (pickle_global_is(func, "builtins", "frozenset"))
		return make_set(d, out, K_FROZENSET, args);
	if (pickle_global_is(func, "builtins", "bytes"))
		return make_bytes(d, out, K_BYTES, args);
	if (pickle_global_is(func, "builtins", "bytearray"))
		return make_bytes(d, out, K_BYTEARRAY, args);
	if (pickle_global_is(func, "_codecs", "encode") && n >= 1 && n <= 2 &&
	    a[0]->kind == K_STR)	/* UTF-8 by default */
		return make_encoded(d, out, K_BYTES, a[0], n == 1 ? CODEC_UTF8
							  : codec_of(a[1]));
	if (pickle_global_is(func, "builtins", "complex"))
		return make_complex(d, out, args);
	if (pickle_global_is(func, "collections", "OrderedDict"))
		return make_ordered_dict(d, out, args);
	if (pickle_global_is(func, "builtins", "type") && n == 1)
		return make_singleton_type(d, out, a[0]);
	if (pickle_global_is(func, "copyreg", "_reconstructor") && n == 3 &&
	    pickle_global_is(a[1], "builtins", "object") &&
	    a[2] == &pickle_node_none)
		return pickle_call_node(d, out, CALL_NEWOBJ, a[0],
				 &pickle_node_empty_tuple, NULL);
	return 0;
}

/*
 * cls.__new__(cls, *args) (NEWOBJ) of builtin classes: lists, dicts,
 * sets and bytearrays come out empty (their __init__ fills them), the
 * immutable ones as if called.
 */
static int make_new(struct decoder *d, struct node **out, struct node *cls,
		    struct node *args)
{
	static const struct {
		const char *name;
		enum kind kind;
	} empty[] = {
		{ "list", K_LIST }, { "dict", K_DICT }, { "set", K_SET },
		{ "bytearray", K_BYTEARRAY },
	};
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < COUNT(empty); i++)
		if (pickle_global_is(cls, "builtins", empty[i].name))
			return pickle_node_new(d, out, empty[i].kind);
	if (pickle_global_is(cls, "collections", "OrderedDict")) {
		rc = pickle_node_new(d, out, K_DICT);
		if (!rc)
			(*out)->ordered = true;
		return rc;
	}
	if (pickle_global_is(cls, "builtins", "frozenset") ||
	    pickle_global_is(cls, "builtins", "bytes") ||
	    pickle_global_is(cls, "builtins", "complex"))
		return make_known(d, out, cls, args);
	return 0;
}

/* func(*args) for REDUCE, INST and OBJ: known values, else a call. */
static int push_call(struct decoder *d, struct node *func, struct node *args)
{
	struct node *n;
	int rc = d->audit ? pickle_audit_event(d, AUDIT_CALL, func, args, NULL)
			  : 0;

	if (rc)
		return rc;
	if (args->kind != K_TUPLE)
		return pickle_fail(d, CONN_EPROTO, "the arguments are a %s, "
				   "not a tuple",
				   pickle_kind_names[args->kind]);
	rc = make_known(d, &n, func, args);
	if (!rc && n == NULL)
		rc = pickle_call_node(d, &n, CALL_REDUCE, func, args, NULL);
	return rc ? rc : pickle_push(d, n);
}

/* A tuple of the count items at the top of the stack, which it pops. */
int pickle_pop_tuple(struct decoder *d, struct node **out, size_t count)
{
	struct node *t;
	int rc;

	if (count == 0) {
		*out = &pickle_node_empty_tuple;
		return 0;
	}
	rc = pickle_node_new(d, &t, K_TUPLE);
	if (rc)
		return rc;
	t->u.seq.items = malloc(count * sizeof(*t->u.seq.items));
	if (t->u.seq.items == NULL)
		return pickle_no_memory(d);
	memcpy(t->u.seq.items, d->stack + d->nstack - count,
	       count * sizeof(*t->u.seq.items));
	t->u.seq.n = t->u.seq.cap = count;
	d->nstack -= count;
	pickle_tuple_seal(t);
	*out = t;
	return 0;
}

/* -------------------------------------------------------- globals, calls */

int pickle_op_global(struct decoder *d)
{
	struct text module, name;
	int rc = pickle_take_line(d, &module);

	if (!rc)
		rc = pickle_take_line(d, &name);
	if (rc)
		return rc;
	d->arg.kind = ARG_PAIR;
	d->arg.t1 = module;
	d->arg.t2 = name;
	return push_global(d, module, name);
}

int pickle_op_stack_global(struct decoder *d)
{
	struct node *module, *name;
	int rc = pickle_need(d, 2);

	if (rc)
		return rc;
	name = pickle_pop(d);
	module = pickle_pop(d);
	if ((module->kind != K_STR || name->kind != K_STR) && d->audit) {
		rc = pickle_audit_event(d, AUDIT_COMPUTED_NAME, module, name,
					NULL);
		if (rc)
			return rc;
	}
	if (module->kind != K_STR || name->kind != K_STR)
		return pickle_fail(d, CONN_EPROTO, "STACK_GLOBAL requires str");
	return push_global(d, module->u.s, name->u.s);
}

int pickle_op_reduce(struct decoder *d)
{
	struct node *func, *args;
	int rc = pickle_need(d, 2);

	if (rc)
		return rc;
	args = pickle_pop(d);
	func = pickle_pop(d);
	return push_call(d, func, args);
}

/* INST: module and name lines, the arguments since the MARK. */
int pickle_op_inst(struct decoder *d)
{
	struct node *func, *args;
	size_t start;
	int rc = pickle_op_global(d);

	if (rc)
		return rc;
	func = pickle_pop(d);
	rc = pickle_pop_mark(d, &start);
	if (!rc)
		rc = pickle_pop_tuple(d, &args, d->nstack - start);
	return rc ? rc : push_call(d, func, args);
}

/* OBJ: the class and its arguments, all since the MARK. */
int pickle_op_obj(struct decoder *d)
{
	struct node *cls, *args;
	size_t start;
	int rc = pickle_pop_mark(d, &start);

	if (rc)
		return rc;
	if (d->nstack - start < 1)
		return pickle_fail(d, CONN_EPROTO, "stack underflow: no class "
				   "after the MARK");
	rc = pickle_pop_tuple(d, &args, d->nstack - start - 1);
	if (rc)
		return rc;
	cls = pickle_pop(d);
	return push_call(d, cls, args);
}

int pickle_op_newobj(struct decoder *d, bool ex)
{
	struct node *cls, *args, *kwargs = NULL, *n;
	int rc = pickle_need(d, ex ? 3 : 2);

	if (rc)
		return rc;
	if (ex)
		kwargs = pickle_pop(d);
	args = pickle_pop(d);
	cls = pickle_pop(d);
	if (d->audit != NULL) {
		rc = pickle_audit_event(d, AUDIT_CALL, cls, args, kwargs);
		if (rc)
			return rc;
	}
	if (args->kind != K_TUPLE)
		return pickle_fail(d, CONN_EPROTO, "the arguments are a %s, "
				   "not a tuple",
				   pickle_kind_names[args->kind]);
	if (kwargs != NULL && kwargs->kind != K_DICT)
		return pickle_fail(d, CONN_EPROTO, "the keyword arguments are "
				   "a %s, not a dict",
				   pickle_kind_names[kwargs->kind]);
	rc = kwargs ? 0 : make_new(d, &n, cls, args);
	if (!rc && (kwargs || n == NULL))
		rc = pickle_call_node(d, &n, CALL_NEWOBJ, cls, args, kwargs);
	return rc ? rc : pickle_push(d, n);
}

int pickle_op_persid(struct decoder *d)
{
	struct node *pid, *n;
	struct text t;
	int rc = pickle_take_line(d, &t);

	if (rc)
		return rc;
	if (!pickle_is_ascii(t.p, t.n))
		return pickle_fail(d, CONN_EPROTO, "persistent IDs in protocol "
				   "0 must be ASCII strings");
	d->arg.kind = ARG_TEXT;
	d->arg.t1 = t;
	rc = pickle_node_new(d, &pid, K_STR);
	if (!rc)
		rc = pickle_node_new(d, &n, K_PERSID);
	if (rc)
		return rc;
	pid->u.s = t;
	n->u.pid = pid;
	if (d->audit != NULL)
		rc = pickle_audit_event(d, AUDIT_PERSID, pid, NULL, NULL);
	return rc ? rc : pickle_push(d, n);
}

int pickle_op_binpersid(struct decoder *d)
{
	struct node *n;
	int rc = pickle_need(d, 1);

	if (!rc)
		rc = pickle_node_new(d, &n, K_PERSID);
	if (rc)
		return rc;
	n->u.pid = pickle_pop(d);
	if (d->audit != NULL)
		rc = pickle_audit_event(d, AUDIT_PERSID, n->u.pid, NULL, NULL);
	return rc ? rc : pickle_push(d, n);
}

int pickle_op_ext(struct decoder *d, size_t size)
{
	struct node *n;
	uint64_t v;
	int64_t code;
	int rc = pickle_take_uint(d, &v, size);

	if (rc)
		return rc;
	code = size == 4 ? (int32_t)(uint32_t)v : (int64_t)v;
	d->arg.kind = ARG_INT;
	d->arg.v = (uint64_t)code;
	if (code <= 0)
		return pickle_fail(d, CONN_EPROTO, "EXT specifies code <= 0");
	rc = pickle_node_new(d, &n, K_EXT);
	if (rc)
		return rc;
	n->u.code = code;
	if (d->audit != NULL)
		rc = pickle_audit_event(d, AUDIT_EXT, n, NULL, NULL);
	return rc ? rc : pickle_push(d, n);
}

