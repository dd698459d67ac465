/*
 * conn.h - the conn-tools core: framing, transports, authentication,
 * message formats and the relay loop of Python's multiprocessing.connection
 * wire protocol.
 *
 * Rules that hold for every function here:
 * - Errors are values: 0 on success or a CONN_E... code; conn_strerror()
 *   names it.  Where more context helps, the object involved keeps a
 *   one-line detail (conn_channel_detail(), conn_auth.detail, ...).
 * - The core never prints and never exits; the tools do.
 * - Out-pointers come first, then outputs, then inputs.
 * - _new/_free and _open/_close pairs own memory and descriptors.
 *
 * Copyright (C) 2026 the conn-tools authors.  GPL-3.0-or-later.
 */
#ifndef CONN_H
#define CONN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>	/* memcpy(), for conn_buffer_append() */

/* On every public function whose result says whether it worked: a caller
 * that drops it gets a warning (-Wall); CONN_IGNORE() with a comment says
 * why dropping it is right.  Every function here with a result carries it,
 * on the line before, except those that write a NUL-ended text like
 * snprintf (conn_float_repr(), conn_progress_format(), conn_escape()),
 * whose length a caller may not need; tests/bats/library.bats checks it. */
#if defined(__GNUC__) || defined(__clang__)
#define CONN_NODISCARD __attribute__((warn_unused_result))
#else
#define CONN_NODISCARD
#endif

/* Drops the result of call on purpose (say why beside it): gcc warns about
 * a CONN_NODISCARD result even through a (void) cast, not through this. */
#define CONN_IGNORE(call) ((void)!(call))

/* ------------------------------------------------------------------ errors */

enum conn_error {
	CONN_OK = 0,
	CONN_EAGAIN,	/* a parser needs more bytes (not a failure) */
	CONN_EINVAL,	/* a bad argument, option or value */
	CONN_ENOMEM,	/* out of memory */
	CONN_EIO,	/* reading stdin or writing stdout failed */
	CONN_EPIPE,	/* the reader of stdout went away */
	CONN_EADDR,	/* an address that cannot be parsed */
	CONN_ERESOLVE,	/* a host name that does not resolve */
	CONN_EBIND,	/* cannot listen on the address */
	CONN_ECONNECT,	/* cannot connect to the address */
	CONN_ERESET,	/* the connection broke (reset, closed under us) */
	CONN_EAUTH,	/* authentication failed */
	CONN_EPROTO,	/* the peer broke the protocol */
	CONN_ETOOBIG,	/* a message over the size limit */
	CONN_ETRUNC,	/* a message cut short by end of stream */
	CONN_ESHORTBUF,	/* the caller's buffer is too small; message kept */
	CONN_ETIMEDOUT,	/* a deadline passed */
	CONN_EINTR,	/* stopped by a signal the caller asked to honour */
	CONN_ECANCELED,	/* another thread asked the work to stop */
	CONN_ETLS,	/* TLS failed (the detail says how) */
	CONN_ETLSCERT,	/* the peer's certificate, key or PSK was refused */
	CONN_ETLSPLAIN,	/* the peer speaks the protocol without TLS */
	CONN_ERROR_COUNT
};

/* A static English text for err; never NULL. */
CONN_NODISCARD
const char *conn_strerror(int err);

/* The process exit status the tools use for err (see conn-listen(1)). */
CONN_NODISCARD
int conn_exit_status(int err);

enum conn_exit {
	CONN_EXIT_OK = 0,
	CONN_EXIT_IO = 1,
	CONN_EXIT_USAGE = 2,
	CONN_EXIT_CONNECT = 3,
	CONN_EXIT_AUTH = 4,
	CONN_EXIT_PROTO = 5,
	CONN_EXIT_TIMEOUT = 6,
	CONN_EXIT_TLS = 7
};

/* ----------------------------------------------------------------- framing */

/* The largest payload a 4-byte header can announce. */
#define CONN_FRAME_SHORT_MAX 0x7fffffffu
/* The longest header: -1, then an 8-byte length. */
#define CONN_FRAME_HEADER_MAX 12

/* Writes the header for a payload of length bytes into out; returns its
 * size (4, or 12 for payloads over CONN_FRAME_SHORT_MAX). */
CONN_NODISCARD
size_t conn_frame_header_encode(uint8_t *out, uint64_t length);

/*
 * Reads a header from the first n bytes: 0 with *length and *header_size
 * set, CONN_EAGAIN when more bytes are needed, CONN_EPROTO for a negative
 * length other than -1 (CPython would silently read it as empty).
 */
CONN_NODISCARD
int conn_frame_header_decode(uint64_t *length, size_t *header_size,
			     const uint8_t *bytes, size_t n);

/*
 * A piece of a message: size bytes at data, found at offset within a
 * message of total bytes.  A message arrives as one or more pieces; the
 * first has offset 0 and the last ends at total (an empty message is one
 * empty piece).  data points into the caller's input and lives as long as it.
 */
struct conn_piece {
	const uint8_t *data;
	size_t size;
	uint64_t offset;
	uint64_t total;
};

CONN_NODISCARD
static inline bool conn_piece_is_first(const struct conn_piece *p)
{
	return p->offset == 0;
}

CONN_NODISCARD
static inline bool conn_piece_is_last(const struct conn_piece *p)
{
	return p->offset + p->size == p->total;
}

/* Incremental frame decoder: bytes in, pieces out, any split of the input. */
struct conn_frame_reader {
	uint8_t header[CONN_FRAME_HEADER_MAX];
	size_t header_have;
	bool in_payload;
	uint64_t total;
	uint64_t offset;
	uint64_t max_size;	/* 0 = no limit */
	uint64_t messages;	/* messages completed so far */
};

void conn_frame_reader_init(struct conn_frame_reader *r, uint64_t max_size);

/*
 * Consumes up to n bytes and yields at most one piece of at most max_piece
 * payload bytes.  Returns 0 with *piece set, CONN_EAGAIN when the bytes
 * were consumed without completing a piece, CONN_EPROTO for an invalid
 * header or CONN_ETOOBIG for one over max_size.  *used is always set.
 */
CONN_NODISCARD
int conn_frame_reader_next(struct conn_frame_reader *r,
			   struct conn_piece *piece, size_t *used,
			   const uint8_t *bytes, size_t n, size_t max_piece);

/* True between messages, i.e. when end of stream here truncates nothing. */
CONN_NODISCARD
bool conn_frame_reader_is_idle(const struct conn_frame_reader *r);

/* The header bytes seen for the current message so far (for messages). */
CONN_NODISCARD
size_t conn_frame_reader_header(const struct conn_frame_reader *r,
				const uint8_t **bytes);

/* ------------------------------------------------------------------ logging */

enum conn_log_level {
	CONN_LOG_NOTICE, CONN_LOG_WARNING, CONN_LOG_TRACE,
	CONN_LOG_PROGRESS,	/* --progress: replaces the previous one */
	CONN_LOG_PROGRESS_END	/* --progress: the summary, to stay */
};

/* Where the core's notices and traces go: the tools print them. */
typedef void conn_log_fn(void *ctx, enum conn_log_level level,
			 const char *line);

/* --------------------------------------------------------------- channels */

/*
 * A channel is one connected stream socket (or pipe pair) carrying frames,
 * the Connection object of Python's API.  It owns its descriptors.
 */
struct conn_channel;

/* Makes a channel reading rfd and writing wfd (the same for a socket);
 * the channel owns both and makes them non-blocking. */
CONN_NODISCARD
int conn_channel_new(struct conn_channel **out, int rfd, int wfd);
void conn_channel_free(struct conn_channel *c);

/* The read and write descriptors. */
CONN_NODISCARD
int conn_channel_rfd(const struct conn_channel *c);
CONN_NODISCARD
int conn_channel_wfd(const struct conn_channel *c);

/* Caps the length a peer may announce (0 = no cap; default 1 GiB). */
void conn_channel_set_max_size(struct conn_channel *c, uint64_t max_size);

/* Blocking calls fail with CONN_ETIMEDOUT once the monotonic clock passes
 * deadline_ms (see conn_clock_ms()); -1 means no deadline. */
void conn_channel_set_deadline(struct conn_channel *c, int64_t deadline_ms);

/* Blocking calls return CONN_EINTR when a signal sets *stop. */
void conn_channel_set_stop_flag(struct conn_channel *c,
				volatile sig_atomic_t *stop);

/* The longest the core's waits last before *stop is looked at again: a
 * signal that lands between the look and poll() is seen this late at
 * most.  An event loop of the caller's own that honours a stop flag polls
 * for no longer either (conn_stop_check_ms()). */
#define CONN_STOP_CHECK_MS 1000

/* A timeout for poll(): ms (-1: none), but no wait over CONN_STOP_CHECK_MS. */
CONN_NODISCARD
static inline int conn_stop_check_ms(int ms)
{
	return ms < 0 || ms > CONN_STOP_CHECK_MS ? CONN_STOP_CHECK_MS : ms;
}

/* Traces each frame through log (NULL: none) when trace is set. */
void conn_channel_set_log(struct conn_channel *c, conn_log_fn *log,
			  void *ctx, bool trace);

/* Gets each handshake message whole, as it is queued (sent: true) or
 * taken (sent: false): for a recorder of what went on the wire. */
typedef void conn_handshake_tap_fn(void *ctx, bool sent,
				   const uint8_t *message, size_t size);
/* Hands the channel's handshake messages (conn_channel_authenticate())
 * to tap with ctx; NULL: none, as at first. */
void conn_channel_set_handshake_tap(struct conn_channel *c,
				    conn_handshake_tap_fn *tap, void *ctx);

/* Sends one message, blocking until it is all handed to the kernel. */
CONN_NODISCARD
int conn_channel_send(struct conn_channel *c, const void *data, size_t size);

/*
 * Queues one message: many small ones then leave in one system call, with
 * the next conn_channel_flush() or once a buffer's worth is queued.  A
 * large payload is written at once from data, uncopied; so is all that was
 * queued before it.  Blocks only while the kernel's buffer is full.
 */
CONN_NODISCARD
int conn_channel_queue(struct conn_channel *c, const void *data, size_t size);

/* Blocks until every queued message is handed to the kernel. */
CONN_NODISCARD
int conn_channel_flush(struct conn_channel *c);

/*
 * Receives one whole message into buf.  If it is longer than capacity,
 * returns CONN_ESHORTBUF with *size set to its length and keeps it for the
 * next call (Python's BufferTooShort).  CONN_ERESET when the peer closed
 * between messages, CONN_ETRUNC when it closed inside one.
 */
CONN_NODISCARD
int conn_channel_recv(struct conn_channel *c, size_t *size, void *buf,
		      size_t capacity);

/* Receives the next piece of a message in constant memory; the piece's
 * data stays valid until the next call on c. */
CONN_NODISCARD
int conn_channel_recv_piece(struct conn_channel *c, struct conn_piece *piece);

/* Half-closes the sending direction once everything queued is sent. */
CONN_NODISCARD
int conn_channel_shutdown(struct conn_channel *c);

/* One line saying more about the last error, or "" when there is none. */
CONN_NODISCARD
const char *conn_channel_detail(const struct conn_channel *c);

/*
 * Non-blocking use, for an event loop of the caller's own: poll
 * conn_channel_rfd() for POLLIN unless conn_channel_peer_eof(), and
 * conn_channel_wfd() for POLLOUT while conn_channel_queued() is not 0;
 * then call conn_channel_read_some() or conn_channel_write_some(), and
 * take what came with conn_channel_take_piece() or _take_message().
 * None of these waits; none looks at the deadline or the stop flag.
 */

/* Reads what the descriptor holds now: 0 when bytes came or the peer's end
 * of stream was seen, CONN_EAGAIN when nothing was there, or an error. */
CONN_NODISCARD
int conn_channel_read_some(struct conn_channel *c);

/*
 * Takes the next piece (at most max_piece payload bytes; SIZE_MAX for all
 * that is here) from what was read, uncopied: piece->data points into the
 * channel and stays valid until the next call on c.  CONN_EAGAIN when
 * more bytes are needed; once the peer's end of stream is seen,
 * CONN_ERESET between messages, CONN_ETRUNC inside one; CONN_EPROTO or
 * CONN_ETOOBIG for a header that is no frame or over the max size.
 */
CONN_NODISCARD
int conn_channel_take_piece(struct conn_piece *piece, struct conn_channel *c,
			    size_t max_piece);

/* Takes the next message if it is all here (one piece, uncopied, as
 * above), else CONN_EAGAIN and takes nothing. */
CONN_NODISCARD
int conn_channel_take_message(struct conn_piece *msg, struct conn_channel *c);

/* The length the next message announces: 0 once its header is here,
 * CONN_EAGAIN before, CONN_EPROTO for a header that is no frame.  Only
 * between messages; consumes nothing. */
CONN_NODISCARD
int conn_channel_next_size(uint64_t *size, const struct conn_channel *c);

/* True when a whole message is waiting to be taken. */
CONN_NODISCARD
bool conn_channel_has_message(const struct conn_channel *c);

/* Bytes read and not yet taken. */
CONN_NODISCARD
size_t conn_channel_received(const struct conn_channel *c);

/* True once the peer's end of stream was read (or input was discarded). */
CONN_NODISCARD
bool conn_channel_peer_eof(const struct conn_channel *c);

/* Forgets what was read and reads no more, as at the peer's end of stream:
 * for a peer being dropped, whose queued bytes may still go out. */
void conn_channel_discard_input(struct conn_channel *c);

/* Frames one message onto the send queue, which grows as needed; writes
 * nothing, so it never blocks (unlike conn_channel_queue()). */
CONN_NODISCARD
int conn_channel_append(struct conn_channel *c, const void *data,
			size_t size);

/* The same a piece at a time: the header goes with the first piece, the
 * message counts as queued with the last. */
CONN_NODISCARD
int conn_channel_append_piece(struct conn_channel *c,
			      const struct conn_piece *piece);

/* Queues bytes that are already whole frames (conn_frame_header_encode()
 * and the payload), as they are: for a sender that frames once and sends
 * the same frames again and again, as a benchmark does. */
CONN_NODISCARD
int conn_channel_append_frames(struct conn_channel *c, const void *frames,
			       size_t size);

/* When the channel traces (conn_channel_set_log()), logs the frame that
 * piece starts, going in direction dir: '<' in, '>' out.  The blocking
 * calls trace their own; a loop of the caller's traces what it takes. */
void conn_channel_trace_frame(struct conn_channel *c, char dir,
			      const struct conn_piece *piece);

/* Bytes queued and not yet written. */
CONN_NODISCARD
size_t conn_channel_queued(const struct conn_channel *c);

/* Writes what is queued as far as the kernel takes it now: 0 (even when
 * some is left), or an error. */
CONN_NODISCARD
int conn_channel_write_some(struct conn_channel *c);

/* Milliseconds on the monotonic clock. */
CONN_NODISCARD
int64_t conn_clock_ms(void);

/* --------------------------------------------------------------- addresses */

enum conn_address_kind {
	CONN_ADDRESS_TCP,
	CONN_ADDRESS_UNIX,	/* a path in the file system */
	CONN_ADDRESS_ABSTRACT	/* a Linux abstract socket name */
};

#define CONN_ADDRESS_PATH_MAX 107	/* sun_path less the terminating NUL */

struct conn_address {
	enum conn_address_kind kind;
	char host[256];		/* TCP: "" for :PORT */
	char port[8];		/* TCP: decimal */
	char path[CONN_ADDRESS_PATH_MAX + 1]; /* UNIX/ABSTRACT, no '@' */
	size_t path_len;
};

/*
 * Parses HOST:PORT, [IPV6]:PORT, :PORT, PORT, unix:PATH, anything with a
 * '/', or @NAME.  Pure: no name lookups.  CONN_EADDR if malformed.
 */
CONN_NODISCARD
int conn_address_parse(struct conn_address *a, const char *text, size_t len);

/* conn_address_parse() of a C string, with detail (capacity bytes) giving
 * the syntax when it fails. */
CONN_NODISCARD
int conn_address_from_text(struct conn_address *a, char *detail,
			   size_t capacity, const char *text);

/* Formats a socket address the way conn_address_parse() reads it back. */
CONN_NODISCARD
int conn_address_format_sockaddr(char *out, size_t capacity,
				 const void *sockaddr, unsigned len);

/* -------------------------------------------------------------- transports */

/* Address family wishes from -4 / -6. */
enum conn_family { CONN_FAMILY_ANY, CONN_FAMILY_IPV4, CONN_FAMILY_IPV6 };

struct conn_listener;

/* Binds and listens on a; the listener keeps a one-line detail on error
 * through *detail (capacity bytes), which may be NULL. */
CONN_NODISCARD
int conn_listener_open(struct conn_listener **out, char *detail,
		       size_t capacity, const struct conn_address *a,
		       enum conn_family family);

/* The listen() backlog of conn_listener_open(): SOMAXCONN (4096 on
 * Linux, which caps it at net.core.somaxconn). */
#define CONN_LISTEN_BACKLOG 4096

/* As conn_listener_open(), with backlog (1 or more) connections waiting
 * to be accepted at most. */
CONN_NODISCARD
int conn_listener_open_backlog(struct conn_listener **out, char *detail,
			       size_t capacity, const struct conn_address *a,
			       enum conn_family family, int backlog);

/* Takes over fd, a listening stream socket of any family that someone
 * else bound (a service manager, a parent): accepts on it, and closes it
 * in conn_listener_close(), which removes no file.  CONN_EINVAL with a
 * detail ("fd 5 is not a socket", "fd 5 is not listening") when fd is
 * not one; fd is then left alone. */
CONN_NODISCARD
int conn_listener_adopt(struct conn_listener **out, char *detail,
			size_t capacity, int fd);

/* Checks that fd is a connected stream socket (getpeername() succeeds)
 * and tunes it as conn_connect() would; its peer's address in peer.
 * CONN_EINVAL with a detail ("fd 5 is not connected") when it is not. */
CONN_NODISCARD
int conn_socket_adopt(char *peer, size_t peer_capacity, char *detail,
		      size_t capacity, int fd);

/* Closes the listener and removes its Unix socket file and lock file, if
 * any, unless another listener has put its own there since. */
void conn_listener_close(struct conn_listener *l);

/* In a child forked after conn_listener_open(): closes the listening
 * socket and the lock file's descriptor, so that the child neither accepts
 * nor keeps the path locked.  The files stay, the parent's to remove; the
 * child must not call conn_listener_close() too. */
void conn_listener_close_in_child(struct conn_listener *l);

/* The bound address, in conn_address_parse() syntax. */
CONN_NODISCARD
const char *conn_listener_name(const struct conn_listener *l);

/* Waits for one connection; *fd is then the caller's.  CONN_EINTR when
 * *stop was set by a signal. */
CONN_NODISCARD
int conn_listener_accept(int *fd, char *peer, size_t peer_capacity,
			 struct conn_listener *l, volatile sig_atomic_t *stop);

/* The listening descriptor, for the caller's own event loop. */
CONN_NODISCARD
int conn_listener_fd(const struct conn_listener *l);

/* Takes a waiting connection without blocking (the listener's descriptor
 * should be non-blocking); CONN_EAGAIN when there is none, CONN_ENOMEM when
 * the process is out of descriptors. */
CONN_NODISCARD
int conn_listener_accept_now(int *fd, char *peer, size_t peer_capacity,
			     struct conn_listener *l);

/*
 * Connects to a, retrying refused connections until wait_ms passes (0 =
 * one attempt).  *fd is the caller's.  detail receives a one-line reason.
 */
CONN_NODISCARD
int conn_connect(int *fd, char *detail, size_t capacity,
		 const struct conn_address *a, enum conn_family family,
		 int64_t wait_ms, volatile sig_atomic_t *stop);

/* What conn_connect_with() may add to conn_connect(). */
struct conn_connect_options {
	int64_t wait_ms;	/* retry refused connections this long */
	int64_t timeout_ms;	/* each attempt: name lookup and connect
				 * within it, or CONN_ETIMEDOUT; 0 = no
				 * limit */
	const struct conn_address *source; /* bind here first (TCP); NULL */
};

/* conn_connect() with a time limit on each attempt and a local address
 * to connect from. */
CONN_NODISCARD
int conn_connect_with(int *fd, char *detail, size_t capacity,
		      const struct conn_address *a, enum conn_family family,
		      const struct conn_connect_options *opt,
		      volatile sig_atomic_t *stop);

/* A connected pair of Unix stream sockets, the wire of Python's Pipe(). */
CONN_NODISCARD
int conn_socketpair(int fds[2]);

/* ------------------------------------------------ descriptors as messages */

/*
 * Passes fd over the Unix stream socket sock as Python's
 * multiprocessing.reduction.send_handle() does on Linux: one byte (the
 * number of descriptors, 1) carrying fd as SCM_RIGHTS, for the peer's
 * recv_handle().  The byte goes between frames: both sides must agree on
 * when.  Waits for room until deadline_ms (conn_clock_ms(); -1: none).
 * CONN_EINVAL if sock is no Unix socket or fd no descriptor; CONN_ERESET
 * if the connection is gone; CONN_ETIMEDOUT; CONN_EINTR when *stop is set.
 */
CONN_NODISCARD
int conn_fd_send(int sock, int fd, int64_t deadline_ms,
		 volatile sig_atomic_t *stop);

/*
 * Receives one descriptor a peer's send_handle() (or sendfds() of one)
 * sent on sock, into *fd (close-on-exec, the caller's), waiting until
 * deadline_ms.  CONN_EPROTO (detail says why) for a byte without exactly
 * one descriptor, whose descriptors are closed; CONN_ERESET at end of
 * stream; CONN_EINVAL if sock is no socket; CONN_ETIMEDOUT; CONN_EINTR.
 */
CONN_NODISCARD
int conn_fd_recv(int *fd, char *detail, size_t capacity, int sock,
		 int64_t deadline_ms, volatile sig_atomic_t *stop);

/* ---------------------------------------------------------- authentication */

enum conn_digest {
	CONN_DIGEST_MD5,
	CONN_DIGEST_SHA256,
	CONN_DIGEST_SHA384,
	CONN_DIGEST_SHA3_256,
	CONN_DIGEST_SHA3_384,
	CONN_DIGEST_COUNT
};

#define CONN_DIGEST_SIZE_MAX 48
#define CONN_HANDSHAKE_FRAME_MAX 256

/* Looks a digest up by its Python name ("sha3_256"); CONN_EINVAL if none. */
CONN_NODISCARD
int conn_digest_from_name(enum conn_digest *d, const char *name, size_t len);
CONN_NODISCARD
const char *conn_digest_name(enum conn_digest d);
CONN_NODISCARD
size_t conn_digest_size(enum conn_digest d);

/* mac = HMAC-d(key, message); mac holds conn_digest_size(d) bytes. */
void conn_hmac(uint8_t *mac, enum conn_digest d, const uint8_t *key,
	       size_t key_len, const uint8_t *message, size_t len);

/* An authentication key in locked memory, wiped when freed. */
struct conn_key;

CONN_NODISCARD
int conn_key_new(struct conn_key **out, const void *bytes, size_t len);
/* The longest key file conn_key_new_from_file() reads. */
#define CONN_KEY_FILE_MAX (1u << 20)

/* Reads FILE's bytes less one trailing newline; CONN_EINVAL if empty,
 * CONN_ETOOBIG if longer than CONN_KEY_FILE_MAX, CONN_EIO (errno set)
 * if it cannot be read. */
CONN_NODISCARD
int conn_key_new_from_file(struct conn_key **out, const char *path);
void conn_key_free(struct conn_key *k);

enum conn_role { CONN_ROLE_LISTENER, CONN_ROLE_CLIENT };

/* Refuse a raw 16-byte HMAC-MD5 or {md5} reply to our challenge. */
#define CONN_AUTH_NO_MD5 1u

/*
 * The mutual handshake as a pure state machine: feed it each handshake
 * message received, send what it produces.  No I/O happens here, so both
 * roles can be driven by tests and fuzzers.
 */
struct conn_auth {
	enum conn_role role;
	int state;
	const struct conn_key *key;
	enum conn_digest digest;	/* what we challenge with */
	unsigned flags;
	uint8_t challenge[64];		/* our challenge, after #CHALLENGE# */
	size_t challenge_len;
	char peer_digest[16];		/* what the peer answered us with */
	char our_reply_digest[16];	/* what we answered the peer with */
	void (*random)(void *buf, size_t len);	/* tests may fix it */
	char detail[200];
};

void conn_auth_init(struct conn_auth *a, enum conn_role role,
		    const struct conn_key *key, enum conn_digest digest,
		    unsigned flags);

/*
 * One step.  in is the message just received (NULL on the first call).
 * Writes the message to send, if any, to out (CONN_HANDSHAKE_FRAME_MAX
 * bytes) and its length to *out_len (0 for none).  Returns 0 to go on,
 * or CONN_EAUTH / CONN_EPROTO with a.detail set; a message to send may
 * still come with an error (#FAILURE#).  conn_auth_is_done() tells the end.
 */
CONN_NODISCARD
int conn_auth_step(struct conn_auth *a, uint8_t *out, size_t *out_len,
		   const uint8_t *in, size_t in_len);
CONN_NODISCARD
bool conn_auth_is_done(const struct conn_auth *a);

/*
 * The reply to a challenge's message (the bytes after "#CHALLENGE#")
 * with key in digest d, whatever digest the challenge asks for:
 * "{name}" and the HMAC, or with legacy the raw 16-byte HMAC-MD5 (d is
 * then ignored).  out holds CONN_HANDSHAKE_FRAME_MAX bytes; returns the
 * reply's length.  conn_auth_step() answers in the challenge's own
 * digest; this is for probing which digests a peer accepts.
 */
CONN_NODISCARD
size_t conn_auth_reply(uint8_t *out, const struct conn_key *key,
		       enum conn_digest d, bool legacy, const uint8_t *message,
		       size_t len);

/*
 * The handshake over a channel, without blocking: takes the handshake
 * messages c has received (conn_channel_read_some()), steps a, and
 * appends our replies to c's queue (send them with
 * conn_channel_write_some()).  Returns 0 when the handshake is done,
 * CONN_EAGAIN while it waits for the peer, or an error with
 * conn_channel_detail() saying why in words for the user (a #FAILURE#
 * for the peer may be queued).  Frames are traced as the channel's are.
 */
CONN_NODISCARD
int conn_channel_handshake_step(struct conn_channel *c, struct conn_auth *a);

/* A handshake on c whose limit_ms ran out: sets c's detail to what was
 * still awaited and returns CONN_ETIMEDOUT. */
CONN_NODISCARD
int conn_channel_handshake_timed_out(struct conn_channel *c,
				     const struct conn_auth *a,
				     int64_t limit_ms);

/* Runs the handshake over c within c's deadline, blocking: the same
 * steps as conn_channel_handshake_step(). */
CONN_NODISCARD
int conn_channel_authenticate(struct conn_channel *c, struct conn_auth *a);

/* ------------------------------------------------------------------- probe */

/* What a peer's first bytes are (conn_probe_classify()). */
enum conn_probe_kind {
	CONN_PROBE_SILENT,	/* nothing: a keyless Listener waits so */
	CONN_PROBE_CHALLENGE,	/* a #CHALLENGE# frame: it wants a key */
	CONN_PROBE_BAD_CHALLENGE, /* a #CHALLENGE# frame no Python sends */
	CONN_PROBE_MESSAGE,	/* another frame: a keyless peer speaking */
	CONN_PROBE_HTTP,	/* "HTTP/...": a web server's reply */
	CONN_PROBE_SSH,		/* "SSH-...": an SSH server's banner */
	CONN_PROBE_TLS,		/* a TLS record */
	CONN_PROBE_OTHER	/* other bytes, or a frame cut short */
};

/* The two handshake styles a challenge can have. */
enum conn_probe_style {
	CONN_PROBE_NO_STYLE,
	CONN_PROBE_LEGACY,	/* Python <= 3.11: 20 bytes, raw HMAC-MD5 */
	CONN_PROBE_MODERN	/* Python >= 3.12: "{digest}" + 40 bytes */
};

/* A classification of what a peer sent first. */
struct conn_probe_first {
	enum conn_probe_kind kind;
	enum conn_probe_style style;	/* CHALLENGE */
	enum conn_digest digest;	/* CHALLENGE: what it challenges
					 * with (MD5 when legacy) */
	uint64_t size;			/* CHALLENGE, MESSAGE, BAD_CHALLENGE:
					 * the frame's payload length */
	size_t frame_len;		/* CHALLENGE: header and payload */
	char text[100];			/* but for SILENT and CHALLENGE, what
					 * it sent, in printable words
					 * (the first line of an HTTP reply,
					 * quoted) */
};

/*
 * Classifies the first len bytes a peer sent, without I/O: a pure
 * function for probes, tests and fuzzers.  complete says no more will
 * come (the peer closed, or the wait is over).  Returns 0 with *out set,
 * or CONN_EAGAIN when more bytes would decide (never when complete).
 */
CONN_NODISCARD
int conn_probe_classify(struct conn_probe_first *out, const uint8_t *bytes,
			size_t len, bool complete);

/* The kind's name for a report: "silent", "challenge", "http"... */
CONN_NODISCARD
const char *conn_probe_kind_name(enum conn_probe_kind kind);

/* ---------------------------------------------------------------------- TLS */

/*
 * TLS under a channel (GnuTLS): the TLS layer sits between the descriptor
 * and the frames, so everything a channel does works over it.  Two modes:
 * certificates (X.509, verified against the system trust store or a CA
 * file, by name or by a pinned public key), or an external PSK derived
 * from the authkey (TLS 1.3 only): HMAC-SHA256(authkey,
 * CONN_TLS_PSK_LABEL), identity CONN_TLS_PSK_IDENTITY.
 */
struct conn_tls_config;

#define CONN_TLS_PSK_LABEL "conn-tools tls-psk v1"
#define CONN_TLS_PSK_IDENTITY "conn-tools"
/* A pin: "sha256//" and the base64 of the SHA-256 of the DER
 * SubjectPublicKeyInfo (curl's --pinnedpubkey form). */
#define CONN_TLS_PIN_SIZE 32
#define CONN_TLS_PIN_TEXT_MAX 64

/* A config for role; CONN_ENOMEM or CONN_ETLS (GnuTLS cannot start). */
CONN_NODISCARD
int conn_tls_config_new(struct conn_tls_config **out, enum conn_role role);
void conn_tls_config_free(struct conn_tls_config *t);

/* Our certificate chain and its key (PEM files): a listener's must; a
 * client's for mutual TLS.  CONN_EINVAL with detail naming the file. */
CONN_NODISCARD
int conn_tls_config_set_cert(struct conn_tls_config *t, char *detail,
			     size_t capacity, const char *cert_file,
			     const char *key_file);
/* The CAs to verify the peer with (PEM file) instead of the system's; on
 * a listener, asks for and requires a client certificate signed by one. */
CONN_NODISCARD
int conn_tls_config_set_ca(struct conn_tls_config *t, char *detail,
			   size_t capacity, const char *ca_file);
/* The name the server's certificate must carry (a client's default is
 * none: set it from the address).  Copied. */
CONN_NODISCARD
int conn_tls_config_set_name(struct conn_tls_config *t, const char *name);
/* Pins the peer's public key ("sha256//BASE64"): the key must match, and
 * then neither the CA nor the name is checked.  CONN_EINVAL if bad. */
CONN_NODISCARD
int conn_tls_config_set_pin(struct conn_tls_config *t, char *detail,
			    size_t capacity, const char *text);
/* The lowest version: 12 (TLS 1.2) or 13 (the default). */
CONN_NODISCARD
int conn_tls_config_set_min(struct conn_tls_config *t, int version);
/* PSK mode, the PSK derived from key (kept until the config goes). */
CONN_NODISCARD
int conn_tls_config_set_psk(struct conn_tls_config *t,
			    const struct conn_key *key);
/* Accepts any certificate (tests and debugging only: no protection
 * against an active attacker). */
void conn_tls_config_set_insecure(struct conn_tls_config *t, bool insecure);

/* Parses a pin's text (len bytes, not NUL-ended) into its 32 bytes:
 * 0, or CONN_EINVAL with detail saying what is wrong. */
CONN_NODISCARD
int conn_tls_pin_parse(uint8_t *pin, char *detail, size_t capacity,
		       const char *text, size_t len);
/* The pin's text of 32 bytes: "sha256//" and base64 (out holds
 * CONN_TLS_PIN_TEXT_MAX bytes). */
void conn_tls_pin_format(char *out, const uint8_t *pin);

/* Puts TLS over c's descriptor, with t (which must outlive c),
 * and starts its handshake; then conn_channel_tls_step() until 0. */
CONN_NODISCARD
int conn_channel_tls_start(struct conn_channel *c,
			   const struct conn_tls_config *t);
/* Advances the TLS handshake without blocking: 0 when done (the peer is
 * verified), CONN_EAGAIN to wait for conn_channel_tls_events() on the
 * descriptor, or CONN_ETLS, CONN_ETLSCERT, CONN_ETLSPLAIN with
 * conn_channel_detail() saying why in one line. */
CONN_NODISCARD
int conn_channel_tls_step(struct conn_channel *c);
/* POLLIN or POLLOUT: what the handshake waits for. */
CONN_NODISCARD
short conn_channel_tls_events(const struct conn_channel *c);
/* The whole handshake, blocking, within c's deadline (CONN_ETIMEDOUT with
 * "TLS handshake not finished within S s"). */
CONN_NODISCARD
int conn_channel_tls_handshake(struct conn_channel *c,
			       const struct conn_tls_config *t);
/* After the handshake: "TLS1.3, AES-128-GCM", then the peer's
 * certificate subject and pin if it sent one, in one line. */
void conn_channel_tls_info(const struct conn_channel *c, char *out,
			   size_t capacity);
struct conn_buffer;

/* Writes b's bytes up to limit (frames a caller made, as --forward
 * relays them) through c's stream without blocking: 0 even when not all
 * went, or an error with conn_channel_detail(). */
CONN_NODISCARD
int conn_channel_write_bytes(struct conn_channel *c, struct conn_buffer *b,
			     size_t limit);
/* Writes len bytes from data through c's stream without blocking (a
 * relay's fast path, straight from where they are): 0 with *put how many
 * went (maybe none), or an error with conn_channel_detail(). */
CONN_NODISCARD
int conn_channel_write_span(size_t *put, struct conn_channel *c,
			    const void *data, size_t len);
/*
 * The whole frames at the start of what c received and no piece of which
 * was taken yet, header and payload as they came, for a relay that passes
 * them on unchanged: 0 with *data, *len (at most max bytes, at least one
 * frame) and *count (how many frames) set, CONN_EAGAIN when no whole
 * frame is there (half a frame, one over the max size, a bad header: the
 * piece functions take and judge those).  Nothing is consumed.
 */
CONN_NODISCARD
int conn_channel_peek_frames(const uint8_t **data, size_t *len,
			     uint64_t *count, const struct conn_channel *c,
			     size_t max);
/* Consumes n bytes conn_channel_peek_frames() spanned (whole frames). */
void conn_channel_consume_frames(struct conn_channel *c, size_t n);
/*
 * conn_channel_read_some() for a relay that expects a large message next:
 * when c's stream is the plain descriptor and c holds nothing, reads at
 * most CONN_FRAME_HEADER_MAX bytes, so that the payload stays in the
 * socket for conn_channel_hand_over() (not copied through memory).
 */
CONN_NODISCARD
int conn_channel_read_header(struct conn_channel *c);
/*
 * For a relay that moves a message's rest itself from c's descriptor to
 * dst's (splice(2) between two sockets): when nothing of it is left in
 * what c received and both streams are the plain descriptors (no TLS
 * session, whose records only the session may read or write), 0 with
 * *left the payload bytes still to come from conn_channel_rfd(c), and c
 * goes on as if they had been taken; else CONN_EAGAIN and nothing
 * changes.
 */
CONN_NODISCARD
int conn_channel_hand_over(uint64_t *left, struct conn_channel *c,
			   const struct conn_channel *dst);
/* True when the channel's stream holds received bytes poll() does not see
 * (decrypted TLS records): read before waiting. */
CONN_NODISCARD
bool conn_channel_has_buffered_input(const struct conn_channel *c);

/* ----------------------------------------------------------------- pickles */

/*
 * Pickles are decoded by a safe decoder that never imports or calls
 * anything: globals and reductions are shown as what they are.  Both
 * functions are pure over (bytes, length) and bounded by the limits below.
 */
#define CONN_PICKLE_MAX_DEPTH 1000		/* nesting of containers */
/* memo entries, or one per two bytes of a pickle larger than 2 MB */
#define CONN_PICKLE_MAX_MEMO 1000000
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CONN_PICKLE_MAX_OUTPUT (64u << 20)	/* bytes of rendering */
#else
/* tools/fuzz: the same code, but an input that renders to the limit costs
 * 64 times less, so the fuzzer keeps its pace. */
#define CONN_PICKLE_MAX_OUTPUT (1u << 20)
#endif

enum conn_pickle_style {
	CONN_PICKLE_REPR,	/* exactly CPython's repr() of the object */
	CONN_PICKLE_JSON,	/* one line of JSON (see conn-pipe(1)) */
	CONN_PICKLE_DIS		/* an opcode listing like pickletools.dis */
};

/*
 * Renders the pickle in bytes in style: *out is a malloc'ed text of
 * *out_len bytes plus a NUL, with no trailing newline for REPR and JSON
 * (DIS has one line per opcode, each ending in a newline).  An invalid or
 * hostile pickle gives CONN_EPROTO with detail naming the offset and the
 * opcode; limits exceeded give CONN_ETOOBIG.  Nothing is ever executed.
 */
CONN_NODISCARD
int conn_pickle_render(char **out, size_t *out_len, char *detail,
		       size_t capacity, enum conn_pickle_style style,
		       const uint8_t *bytes, size_t len);

/*
 * How a pickle is rendered and what its rendering may cost; a zeroed struct
 * (or NULL) is conn_pickle_render()'s way.  Work is counted in units of
 * about the same time each: an opcode run, 16 bytes of rendering, a step of
 * a big int's conversion to decimal.  A rendering of max_work units takes
 * very roughly max_work / 100 microseconds.
 */
struct conn_render_options {
	unsigned python;	/* the CPython whose repr() to print, as
				 * 100 * X + Y (311 for 3.11) where reprs
				 * changed; 0: the newest */
	size_t max_output;	/* bytes of rendering; 0 or over
				 * CONN_PICKLE_MAX_OUTPUT: that */
	uint64_t max_work;	/* units (above); 0: no limit.  Past it:
				 * CONN_EAGAIN, the work so far thrown away,
				 * so that a caller can go on elsewhere */
	const volatile int *cancel; /* NULL, or another thread's flag:
				 * once non-zero, CONN_ECANCELED */
	size_t max_memory;	/* bytes the decoded objects may take (the
				 * input and the text apart): CONN_ETOOBIG
				 * past it; 0: no limit but the others */
};

/* conn_pickle_render() the way o says (NULL: the defaults). */
CONN_NODISCARD
int conn_pickle_render_with(char **out, size_t *out_len, char *detail,
			    size_t capacity, enum conn_pickle_style style,
			    const struct conn_render_options *o,
			    const uint8_t *bytes, size_t len);

/*
 * Pickles one JSON value (the text json, len bytes) with protocol 0-5:
 * null, true/false, numbers, strings, arrays and objects become None,
 * bool, int (of any size up to 4300 digits) or float, str, list and dict,
 * and the tagged objects CONN_PICKLE_JSON writes ({"__tuple__": [...]},
 * {"__bytes__": "<base64>"}...) what they stand for.  *out is malloc'ed.
 * Invalid JSON, an int of more than 4300 digits, a tag with a bad value,
 * an unhashable key or set item, {"__repr__": ...} (but a defaultdict's
 * factory), or a standard library tag's value that CONN_PICKLE_JSON would
 * write back as a call ({"__repr__": ...}) gives CONN_EINVAL with detail
 * set: what this takes, CONN_PICKLE_JSON renders as a text this takes.
 */
CONN_NODISCARD
int conn_pickle_from_json(uint8_t **out, size_t *out_len, char *detail,
			  size_t capacity, const char *json, size_t len,
			  int protocol);

/*
 * A pickle's safety, judged in the manner of fickling: the worst of its
 * findings (conn-pipe(1), AUDIT, has the table of rules).
 */
enum conn_pickle_verdict {
	CONN_PICKLE_LIKELY_SAFE,	/* values and known-safe classes only */
	CONN_PICKLE_SUSPICIOUS,		/* odd constructs, globals not called */
	CONN_PICKLE_LIKELY_UNSAFE,	/* calls of unknown globals, ... */
	CONN_PICKLE_OVERTLY_MALICIOUS	/* os.system, eval, sockets, ... */
};

/* "likely safe", "suspicious", "likely unsafe", "overtly malicious". */
CONN_NODISCARD
const char *conn_pickle_verdict_name(enum conn_pickle_verdict v);

/* What conn_pickle_audit() found, besides its text. */
struct conn_pickle_report {
	enum conn_pickle_verdict verdict;
	bool decoded;		/* the machine ran to STOP and the end */
};

/*
 * Audits the pickle in bytes without running it: the decoder's machine
 * runs it as CPython's unpickler would (memo, STACK_GLOBAL from computed
 * strings, REDUCE, BUILD, INST, OBJ, NEWOBJ_EX, EXT codes) and notes every
 * global it imports, every call it would make and every odd construct,
 * each with the offset and opcode.  *out is a malloc'ed line (no newline,
 * NUL-ended) of *out_len bytes: "VERDICT: finding; finding; ...; globals:
 * module.name (N calls), ...".  A pickle the machine cannot run to its end
 * is audited up to where it stops, which is a finding too: it is never an
 * error.  Returns 0, or CONN_ENOMEM.
 */
CONN_NODISCARD
int conn_pickle_audit(char **out, size_t *out_len,
		      struct conn_pickle_report *report, const uint8_t *bytes,
		      size_t len);

/* conn_pickle_audit() within o's max_work and cancel (NULL: none):
 * CONN_EAGAIN or CONN_ECANCELED past them, with nothing made.  Past o's
 * max_memory the machine stops, which is a finding ("past the decoder's
 * limits"), likely unsafe. */
CONN_NODISCARD
int conn_pickle_audit_with(char **out, size_t *out_len,
			   struct conn_pickle_report *report,
			   const struct conn_render_options *o,
			   const uint8_t *bytes, size_t len);

/*
 * conn_pickle_audit_with()'s findings as one line of JSON (no newline,
 * NUL-ended) for programs: {"verdict": "likely unsafe", "level": 2,
 * "decoded": true, "findings": [{"what": "calls m.C()", "verdict": ...,
 * "level": 2, "offset": 6, "opcode": "REDUCE"}, ...], "more_findings": 0,
 * "globals": [{"name": "m.C", "calls": 1, "offset": 0, "opcode":
 * "GLOBAL"}, ...], "more_globals": false}: the line's facts in its order,
 * a finding's words without its place, which has fields of its own (null
 * for a finding of no one place); level is the verdict's number, 0 to 3.
 * The same verdict as the line, and the same errors.
 */
CONN_NODISCARD
int conn_pickle_audit_json(char **out, size_t *out_len,
			   struct conn_pickle_report *report,
			   const struct conn_render_options *o,
			   const uint8_t *bytes, size_t len);

/* A --pickle-policy: which globals a pickle may import (pickle-policy.c). */
struct conn_pickle_policy;

/*
 * Parses a policy, the text of len bytes: one rule a line, "allow PATTERN"
 * or "deny PATTERN", blank lines and "#" comments ignored; the first rule
 * whose pattern matches a global decides, and a global no rule matches is
 * denied.  A PATTERN is a dotted name whose parts may hold "*" (any run
 * of characters within the part) and "?" (one character); a last part
 * "**" stands for one or more parts.  Pure: CONN_EINVAL with detail
 * naming the line for a bad rule; CONN_ENOMEM.  *out is freed with
 * conn_pickle_policy_free().
 */
CONN_NODISCARD
int conn_pickle_policy_parse(struct conn_pickle_policy **out, char *detail,
			     size_t capacity, const char *text, size_t len);
void conn_pickle_policy_free(struct conn_pickle_policy *p);

/*
 * Whether the pickle in bytes passes the policy: it runs the machine as
 * conn_pickle_audit() does, and *allowed is true only if every global it
 * imports is allowed, it uses no persistent id and no EXT code, and it
 * runs to its end.  Otherwise detail says why ("imports posix.system at
 * 24 (STACK_GLOBAL)").  Returns 0, or CONN_ENOMEM.
 */
CONN_NODISCARD
int conn_pickle_policy_check(const struct conn_pickle_policy *p,
			     bool *allowed, char *detail, size_t capacity,
			     const uint8_t *bytes, size_t len);

/* conn_pickle_policy_check() within o's max_work and cancel (NULL:
 * none): CONN_EAGAIN or CONN_ECANCELED past them, *allowed false.  A
 * pickle past o's max_memory is not allowed (detail says so). */
CONN_NODISCARD
int conn_pickle_policy_check_with(const struct conn_pickle_policy *p,
				  bool *allowed, char *detail,
				  size_t capacity,
				  const struct conn_render_options *o,
				  const uint8_t *bytes, size_t len);

/*
 * Writes repr(v) as CPython prints a float: the shortest digits that read
 * back as v, fixed notation for decimal exponents -4 to 15 (with ".0" when
 * integral), else d.ddde+XX; nan, inf and -inf.  Like snprintf: out gets
 * at most capacity - 1 bytes and a NUL, and the return value is the length
 * of the whole text, which is never over CONN_FLOAT_REPR_MAX - 1.
 */
#define CONN_FLOAT_REPR_MAX 32
size_t conn_float_repr(char *out, size_t capacity, double v);

/* ----------------------------------------------------------------- formats */

enum conn_format {
	CONN_FORMAT_LINES,
	CONN_FORMAT_NULL,
	CONN_FORMAT_RAW,
	CONN_FORMAT_FRAMES,
	CONN_FORMAT_HEX,
	CONN_FORMAT_QUOTED,	/* b'..' with escapes, one per line */
	CONN_FORMAT_JSON,	/* in: JSON pickled; out: pickle as JSON */
	CONN_FORMAT_REPR,	/* out only: CPython's repr() of the pickle */
	CONN_FORMAT_PICKLE_DIS,	/* out only: a pickletools-style listing */
	CONN_FORMAT_AUDIT,	/* out only: conn_pickle_audit()'s line */
	CONN_FORMAT_AUDIT_JSON,	/* out only: conn_pickle_audit_json()'s */
	CONN_FORMAT_COUNT
};

/* Whether f may be used for input (stdin) and for output (stdout). */
CONN_NODISCARD
bool conn_format_is_input(enum conn_format f);
CONN_NODISCARD
bool conn_format_is_output(enum conn_format f);

/* audit and audit-json: a verdict each message. */
CONN_NODISCARD
bool conn_format_is_audit(enum conn_format f);

/* Output formats that need a whole message before writing (pickles). */
CONN_NODISCARD
bool conn_format_is_whole(enum conn_format f);

CONN_NODISCARD
int conn_format_from_name(enum conn_format *f, const char *name);
CONN_NODISCARD
const char *conn_format_name(enum conn_format f);

/* Splits a byte stream in some format into messages (pieces). */
struct conn_decoder {
	enum conn_format format;
	uint64_t max_size;	/* longest message that is built whole */
	size_t chunk_size;	/* raw: longest message (max_size at most) */
	int pickle_protocol;	/* json: the protocol to pickle with */
	uint64_t line;		/* line number, for messages */
	/* The message being handed out. */
	bool in_message;
	bool separator;		/* a separator follows the message */
	uint64_t total, offset;
	uint8_t *scratch;	/* hex: the decoded message */
	size_t scratch_cap;
	struct conn_frame_reader frames;
	char detail[120];
};

/* A decoder of f; max_size 0 is no limit.  Raw chunks are cut to
 * max_size when chunk_size is larger: no message over it comes out. */
void conn_decoder_init(struct conn_decoder *d, enum conn_format f,
		       uint64_t max_size, size_t chunk_size);
void conn_decoder_free(struct conn_decoder *d);

/*
 * Like conn_frame_reader_next() for the decoder's format.  eof says no more
 * bytes follow these n.  CONN_EAGAIN with *used == 0 and no eof means a
 * whole message must be in view before it can be cut: supply more bytes in
 * one run (the caller grows its buffer up to max_size).
 */
CONN_NODISCARD
int conn_decoder_next(struct conn_decoder *d, struct conn_piece *piece,
		      size_t *used, const uint8_t *bytes, size_t n, bool eof,
		      size_t max_piece);

/* How many bytes of input a caller must be able to hold in view for the
 * decoder to cut any message it accepts (SIZE_MAX: no bound). */
CONN_NODISCARD
size_t conn_decoder_window(const struct conn_decoder *d);

/*
 * Renders one whole message in a whole-message format (conn_format_is_whole):
 * *out is a malloc'ed text ending in a newline.  A message the format cannot
 * show (not a pickle) gives CONN_EPROTO with detail set.
 */
CONN_NODISCARD
int conn_format_render(char **out, size_t *out_len, char *detail,
		       size_t capacity, enum conn_format f,
		       const uint8_t *message, size_t len);

/*
 * conn_format_render() with --keep-going's way out: when keep_going, a
 * message f cannot show (CONN_EPROTO, CONN_ETOOBIG) comes back as its hex
 * line instead, with *as_hex set and detail saying what was wrong with it.
 */
CONN_NODISCARD
int conn_format_render_or_hex(char **out, size_t *out_len, bool *as_hex,
			      char *detail, size_t capacity,
			      enum conn_format f, const uint8_t *message,
			      size_t len, bool keep_going);

/* conn_format_render() and conn_format_render_or_hex() rendering pickles
 * the way o says (NULL: the defaults). */
CONN_NODISCARD
int conn_format_render_with(char **out, size_t *out_len, char *detail,
			    size_t capacity, enum conn_format f,
			    const struct conn_render_options *o,
			    const uint8_t *message, size_t len);
CONN_NODISCARD
int conn_format_render_or_hex_with(char **out, size_t *out_len, bool *as_hex,
				   char *detail, size_t capacity,
				   enum conn_format f,
				   const struct conn_render_options *o,
				   const uint8_t *message, size_t len,
				   bool keep_going);

/* The most bytes conn_encode_piece() may write for a piece of size bytes. */
CONN_NODISCARD
size_t conn_encode_bound(enum conn_format f, size_t size);

/* Writes piece in format f to out; returns the bytes written. */
CONN_NODISCARD
size_t conn_encode_piece(uint8_t *out, enum conn_format f,
			 const struct conn_piece *piece);

/* text (len bytes) as a JSON string literal, quotes included, bad UTF-8 as
 * U+FFFD, the way the json format writes a str: *out is malloc'ed and
 * NUL-ended, *out_len bytes before the NUL.  CONN_ENOMEM. */
CONN_NODISCARD
int conn_json_quote(char **out, size_t *out_len, const char *text, size_t len);

/* ------------------------------------------------------------- relay loop */

struct conn_relay_config {
	int in_fd, out_fd;		/* -1 for none */
	const char *in_name;		/* in_fd in errors (NULL: "stdin") */
	enum conn_format in_format, out_format;
	size_t chunk_size;
	uint64_t max_size;
	const char *const *data;	/* messages sent before stdin */
	const size_t *data_len;
	size_t data_count;
	uint64_t count;			/* exit after this many received; 0 = all */
	bool send_only, recv_only, close_on_eof;
	bool no_key;			/* a #CHALLENGE# first is an error */
	bool capture;			/* a stream read offline (conn-pipe): it
					 * may start with handshake frames */
	int pickle_protocol;		/* json input */
	const struct conn_render_options *render; /* NULL: the defaults */
	bool keep_going;		/* show a bad pickle in hex, go on */
	bool echo;			/* send every message back; no stdio */
	bool end_with_peer;		/* the peer's end ends us (--exec) */
	bool progress;			/* log progress lines (--progress) */
	const unsigned *progress_width;	/* columns a redrawn progress line may
					 * take, read at each line (NULL or 0:
					 * no limit; the summary is whole) */
	bool close_out;			/* out_fd is the relay's, non-blocking:
					 * closed once the peer's messages are
					 * all written (a command's stdin) */
	/* --pickle-policy: a received message that does not pass is
	 * dropped with a warning naming peer (NULL: none) and the global,
	 * before it reaches out_fd; messages are then gathered whole in
	 * every format. */
	const struct conn_pickle_policy *policy;
	const char *peer;
	/* --out audit: raised to the worst verdict of the messages
	 * written (NULL: not wanted); the caller sets it first. */
	enum conn_pickle_verdict *verdict;
	volatile sig_atomic_t *stop;
	/* The relay ends with CONN_ETIMEDOUT after idle_ms in which no
	 * message, nor a piece of one, went either way (0: no limit). */
	int64_t idle_ms;
};

/*
 * Moves messages both ways between (in_fd, out_fd) and c until both
 * directions end.  Returns 0, or an error with *detail (capacity bytes) set.
 */
CONN_NODISCARD
int conn_relay_run(char *detail, size_t capacity, struct conn_channel *c,
		   const struct conn_relay_config *cfg);

/* --progress: what a relay has moved so far. */
struct conn_progress_counts {
	uint64_t sent, received;		/* messages */
	uint64_t sent_bytes, received_bytes;	/* payload bytes */
	int64_t elapsed_ms;
};

/*
 * Writes the progress line for c to out (capacity bytes, NUL-ended) and
 * returns its length: "3 messages (1.2 kB) sent, 4 messages (1.5 kB)
 * received, 2.7 kB/s, 1.0 s", after "done: " for the summary.  With
 * width > 0 the line takes at most width columns: the rate goes first,
 * then the time, then the byte counts, then the words around the message
 * counts; what still does not fit is cut.
 */
size_t conn_progress_format(char *out, size_t capacity,
			    const struct conn_progress_counts *c, bool done,
			    size_t width);

/*
 * --progress for an event loop of the caller's own, as the relay does it:
 * a line through log about twice a second, and a summary at the end.  The
 * caller adds to the four counters as messages go; the other fields are
 * the functions'.
 */
struct conn_progress {
	bool on;
	uint64_t sent, received;		/* messages */
	uint64_t sent_bytes, received_bytes;	/* payload bytes */
	int64_t start_ms, last_ms;
	const unsigned *width;	/* of a redrawn line (NULL or 0: no limit) */
	conn_log_fn *log;
	void *ctx;
};

/* Starts counting now; on false (or log NULL) makes the rest do nothing.
 * width, when not NULL, is read at each line (conn_progress_format()). */
void conn_progress_start(struct conn_progress *p, bool on,
			 const unsigned *width, conn_log_fn *log, void *ctx);
/* Logs a CONN_LOG_PROGRESS line if half a second has passed since the
 * last one. */
void conn_progress_tick(struct conn_progress *p);
/* Milliseconds until the next line is due (a timeout for poll), -1 when
 * off. */
CONN_NODISCARD
int conn_progress_wait_ms(const struct conn_progress *p);
/* Logs the CONN_LOG_PROGRESS_END summary, whole; nothing more after it. */
void conn_progress_end(struct conn_progress *p);

/* Escapes up to limit bytes of data for a trace line, C style. */
size_t conn_escape(char *out, size_t capacity, const uint8_t *data,
		   size_t len, size_t limit);

/* ------------------------------------------------------------ byte queues */

/*
 * A byte queue, the buffers between descriptors of an event loop (the
 * relay's and conn-listen -k's between stdin, the sockets and stdout):
 * bytes live in [start, end) of data (cap bytes); mark is the end of the
 * last whole message, so that a writer can hold back half a message.  The
 * fields are for reading: only these functions change them.
 */
struct conn_buffer {
	uint8_t *data;
	size_t start, end, mark, cap;
};

/* An empty queue with room for cap bytes (it grows as asked). */
CONN_NODISCARD
int conn_buffer_init(struct conn_buffer *b, size_t cap);
void conn_buffer_free(struct conn_buffer *b);

/* b, empty, takes data (malloc'ed, cap bytes of which len are used) as
 * its storage instead of its own, the len bytes appended (not committed):
 * a big text is queued without a copy. */
void conn_buffer_adopt(struct conn_buffer *b, void *data, size_t len,
		       size_t cap);

/* Makes room for n more bytes at end, moving or growing (up to limit
 * bytes in all): CONN_ETOOBIG beyond limit, CONN_ENOMEM. */
CONN_NODISCARD
int conn_buffer_reserve(struct conn_buffer *b, size_t n, size_t limit);

/* Slides the live bytes to the front; returns the room then at the end. */
CONN_NODISCARD
size_t conn_buffer_compact(struct conn_buffer *b);

/* Where a writer may write up to: whole messages, or all of a message too
 * big to hold back. */
CONN_NODISCARD
size_t conn_buffer_flush_limit(const struct conn_buffer *b);

/* Bytes queued. */
CONN_NODISCARD
static inline size_t conn_buffer_len(const struct conn_buffer *b)
{
	return b->end - b->start;
}

/* Bytes that fit at end without moving or growing. */
CONN_NODISCARD
static inline size_t conn_buffer_room(const struct conn_buffer *b)
{
	return b->cap - b->end;
}

/* What one conn_buffer_read_fd() asks for, at least. */
#define CONN_BUFFER_READ_SIZE (64 * 1024)

/*
 * One read(2) of fd (name, for the detail: "stdin") into b, growing b up
 * to window bytes (a decoder's need: conn_decoder_window()); sets *eof at
 * end of file.  EAGAIN and EINTR are no errors; CONN_EIO and CONN_ETOOBIG
 * (a message longer than window) come with detail (capacity bytes) set.
 */
CONN_NODISCARD
int conn_buffer_read_fd(struct conn_buffer *b, bool *eof, char *detail,
			size_t capacity, int fd, const char *name,
			size_t window);

/* Writes b up to limit (an offset in data: b->mark, or
 * conn_buffer_flush_limit()) to fd (name, for the detail) without
 * blocking: 0 even when not all went, CONN_EPIPE when the reader left, or
 * CONN_EIO with detail set. */
CONN_NODISCARD
int conn_buffer_write_fd(struct conn_buffer *b, char *detail,
			 size_t capacity, int fd, const char *name,
			 size_t limit);

/* Empties the queue, keeping its memory. */
static inline void conn_buffer_clear(struct conn_buffer *b)
{
	b->start = b->end = b->mark = 0;
}

/* Takes n bytes from the front.  Inline: the receive path calls it once
 * per message. */
static inline void conn_buffer_consume(struct conn_buffer *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		conn_buffer_clear(b);	/* empty: rewind for free */
}

/* Queues n bytes at the end.  Inline: the send path calls it once or twice
 * per message. */
CONN_NODISCARD
static inline int conn_buffer_append(struct conn_buffer *b,
				     const void *data, size_t n)
{
	int rc = conn_buffer_room(b) >= n ? 0
					  : conn_buffer_reserve(b, n, SIZE_MAX);

	if (rc)
		return rc;
	memcpy(b->data + b->end, data, n);
	b->end += n;
	return 0;
}

/* Counts n bytes the caller wrote at data + end (within the room that
 * conn_buffer_reserve() made) as queued. */
static inline void conn_buffer_extend(struct conn_buffer *b, size_t n)
{
	b->end += n;
}

/* What is queued so far ends a message: writers may now take it. */
static inline void conn_buffer_commit(struct conn_buffer *b)
{
	b->mark = b->end;
}

/* Forgets what was queued since the last conn_buffer_commit(): half a
 * message that will never be whole. */
static inline void conn_buffer_drop_partial(struct conn_buffer *b)
{
	b->end = b->mark > b->start ? b->mark : b->start;
}

/*
 * A descriptor for writing fd that never blocks, for conn_buffer_write_fd():
 * for a pipe, one of our own opened on it non-blocking (*owned set: the
 * caller closes it), so that the flags of a pipe shared with other
 * processes stay as they are; else (a file, a terminal, or when that
 * fails) fd itself, with *owned false.
 */
CONN_NODISCARD
int conn_fd_copy_nonblocking(bool *owned, int fd);

/* ---------------------------------------------------------------- captures */

/*
 * Reading packet captures: the messages of the TCP conversations in them.
 * The caller reads the file (libpcap, in conn-pipe --in pcap) and gives
 * each packet's bytes; the reader takes the link layer (Ethernet, Linux
 * cooked SLL and SLL2, BSD loopback/null, raw IP), IPv4 and IPv6, TCP,
 * reassembles each direction by sequence number (out of order segments,
 * retransmissions, overlaps) and cuts frames.  A direction whose start
 * was not captured (neither its SYN nor the SYN-ACK) or that lost bytes
 * skips to the first plausible frame header, with a warning.  Memory is
 * bounded: see capture-read.c.  IP fragments are not put back together.
 */

/* A whole message of a capture, as the reader hands it out; the pointers
 * are valid during the call only. */
struct conn_capture_message {
	uint64_t conn;		/* 1, 2, ...: conversations as they appear */
	int dir;		/* 0 from the side that opened it (SYN), or
				 * spoke first; 1 from the other */
	const char *src, *dst;	/* "127.0.0.1:5000", "[::1]:5000" */
	int64_t time_us;	/* of the packet that completed it */
	const char *handshake;	/* "challenge", "digest", "welcome",
				 * "failure", or NULL: not the handshake's */
	const uint8_t *data;
	size_t size;
};

/* Called for each message; a non-zero return stops the reader, which
 * returns it. */
typedef int conn_capture_fn(void *ctx, const struct conn_capture_message *m);

struct conn_capture_reader;

/* Whether the reader knows the link type (a pcap LINKTYPE_ value, or
 * libpcap's DLT_RAW). */
CONN_NODISCARD
bool conn_capture_link_supported(int link);

/*
 * A reader of packets of link type link.  port non-zero: only the
 * conversations with that port at either end, whatever their first bytes;
 * 0: every conversation whose first frame header is plausible (under
 * 16 MiB), the others ignored.  max_size: the longest message (0: no
 * limit); a header over it is no frame.  fn gets the messages, log the
 * warnings (either may be NULL), both with ctx.  CONN_EINVAL for a link
 * type it does not know, CONN_ENOMEM.
 */
CONN_NODISCARD
int conn_capture_reader_new(struct conn_capture_reader **out, int link,
			    uint16_t port, uint64_t max_size,
			    conn_capture_fn *fn, conn_log_fn *log, void *ctx);
/* One captured packet (its n captured bytes), captured at time_us; what
 * is not TCP over IP is passed over.  0, CONN_ENOMEM or fn's return. */
CONN_NODISCARD
int conn_capture_reader_packet(struct conn_capture_reader *r,
			       const uint8_t *bytes, size_t n,
			       int64_t time_us);
/* The capture's end: what is held past a gap is cut, what is no whole
 * message reported.  0, CONN_ENOMEM or fn's return. */
CONN_NODISCARD
int conn_capture_reader_finish(struct conn_capture_reader *r);
void conn_capture_reader_free(struct conn_capture_reader *r);

/*
 * Writing packet captures: connections recorded as a classic pcap file
 * (raw IP link type) of synthetic IPv4 or IPv6 and TCP headers around the
 * bytes each side sent, with consistent sequence numbers, checksums and
 * timestamps, a SYN / SYN-ACK / ACK at the start and FIN both ways at
 * the end, so that Wireshark, tshark, tcpdump and conn-pipe --in pcap
 * follow the streams.  No libpcap is needed.  Not for several threads at
 * once.  Memory: a few dozen bytes per connection ever recorded.  Each
 * packet is one write(2) to the file, opened for appending: processes
 * sharing a capture opened before they forked (their connections
 * numbered apart with conn_capture_number_from()) keep it valid.
 */
struct conn_capture;
struct sockaddr;

/* Creates (or truncates) the capture file path and writes its header.
 * CONN_EIO with detail (capacity bytes) set, CONN_ENOMEM. */
CONN_NODISCARD
int conn_capture_open(struct conn_capture **out, char *detail,
		      size_t capacity, const char *path);
/* The connections recorded from now on get the ids first, first + 1, ...
 * (1, 2, ... by default); the id picks a Unix socket's stand-in port and
 * the initial sequence numbers.  CONN_EINVAL once a connection is
 * recorded, or for 0. */
CONN_NODISCARD
int conn_capture_number_from(struct conn_capture *cap, uint64_t first);
/*
 * Records a new connection from client to server (AF_INET or AF_INET6
 * socket addresses; any other, a Unix socket's, or NULL, stands for
 * 127.0.0.1 port 49152 and up for the client, 127.0.0.2 port 5000 for
 * the server) at time_us (microseconds since the epoch; negative: now):
 * its handshake packets, and *id for the calls that follow.  0,
 * CONN_ENOMEM, or CONN_EIO (conn_capture_detail() says why).
 */
CONN_NODISCARD
int conn_capture_connect(struct conn_capture *cap, uint64_t *id,
			 const struct sockaddr *client,
			 const struct sockaddr *server, int64_t time_us);
/* Records n bytes that went from the client (dir 0) or the server (dir
 * 1) of connection id, as they went on the wire (frames, headers and
 * all), in segments of up to 65495 bytes.  CONN_EINVAL for an id not
 * connected or ended, CONN_EIO. */
CONN_NODISCARD
int conn_capture_write(struct conn_capture *cap, uint64_t id, int dir,
		       const void *bytes, size_t n, int64_t time_us);
/* Records connection id's end: FIN both ways.  CONN_EINVAL, CONN_EIO. */
CONN_NODISCARD
int conn_capture_end(struct conn_capture *cap, uint64_t id, int64_t time_us);
/* 0, or CONN_EIO once a write failed: nothing is buffered, a reader
 * sees all that was recorded.  After a failure, every call returns it. */
CONN_NODISCARD
int conn_capture_flush(struct conn_capture *cap);
/* Why the last CONN_EIO happened. */
CONN_NODISCARD
const char *conn_capture_detail(const struct conn_capture *cap);
/* Flushes and closes the file, frees cap (NULL: nothing): 0, or CONN_EIO
 * with detail set when any write failed. */
CONN_NODISCARD
int conn_capture_close(struct conn_capture *cap, char *detail,
		       size_t capacity);

#endif /* CONN_H */
