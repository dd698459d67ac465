/*
 * server-wait.c - what conn-listen -k's loop waits on.
 *
 * On Linux, epoll: a client's socket is registered once, and changed only
 * when what it waits for changes, so that a wake-up costs the clients the
 * kernel reports, however many sit idle.  poll() is the portable fallback,
 * and chosen with CONN_TOOLS_POLL=poll in the environment (the tests run
 * the server both ways); it hands the kernel every client at each wait.
 * The loop's other descriptors (listener, stdin, stdout, the render jobs')
 * change at every round: they are poll()ed in both, with the epoll
 * descriptor beside them.
 */
#include <config.h>

#include "server-poll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifdef HAVE_SYS_EPOLL_H
#include <sys/epoll.h>
#endif

/* Reports taken from epoll per wait; more wait for the next. */
#define EVENTS_PER_WAIT 1024

static bool wants_poll(void)
{
	const char *env = getenv("CONN_TOOLS_POLL");

	return env && strcmp(env, "poll") == 0;
}

/* A client is a descriptor: --max-conns 10000 needs more than the usual
 * soft limit of 1024, so it goes up to the hard one (a limit the
 * administrator set still holds; accepting past it pauses, see
 * server_pause_accepting()). */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		CONN_IGNORE(setrlimit(RLIMIT_NOFILE, &r));
	}
}

int poll_wait_open(struct poll_sched *w, size_t max_conns)
{
	raise_fd_limit();
	w->epfd = -1;
	w->cap = max_conns;
	/* The loop's own descriptors, then the clients' (poll) or epoll's. */
	w->pfd = calloc(max_conns + 8, sizeof(*w->pfd));
	if (w->pfd == NULL)
		return CONN_ENOMEM;
#ifdef HAVE_SYS_EPOLL_H
	if (!wants_poll()) {
		w->events = calloc(EVENTS_PER_WAIT, sizeof(*w->events));
		if (w->events == NULL)
			return CONN_ENOMEM;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0)
			return CONN_EIO;
	}
#else
	(void)wants_poll;
#endif
	return 0;
}

void poll_wait_close(struct poll_sched *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	w->epfd = -1;
	free(w->events);
	free(w->pfd);
	w->events = NULL;
	w->pfd = NULL;
}

const char *poll_wait_name(const struct poll_sched *w)
{
	return w->epfd >= 0 ? "epoll" : "poll";
}

#ifdef HAVE_SYS_EPOLL_H
static uint32_t epoll_mask(short mask)
{
	return (mask & POLLIN ? EPOLLIN : 0) | (mask & POLLOUT ? EPOLLOUT : 0);
}

static short poll_mask(uint32_t ev)
{
	return (short)((ev & EPOLLIN ? POLLIN : 0) |
		       (ev & EPOLLOUT ? POLLOUT : 0) |
		       (ev & EPOLLHUP ? POLLHUP : 0) |
		       (ev & EPOLLERR ? POLLERR : 0));
}
#endif

/* A client not yet registered has mask -1 (see accept_one()). */
int poll_wait_set(struct poll_sched *w, struct client *cl, short mask)
{
	if (cl->mask == mask)
		return 0;
#ifdef HAVE_SYS_EPOLL_H
	if (w->epfd >= 0) {
		struct epoll_event ev = { .events = epoll_mask(mask),
					  .data.ptr = cl };

		if (epoll_ctl(w->epfd, cl->mask < 0 ? EPOLL_CTL_ADD
				       : EPOLL_CTL_MOD,
			      conn_channel_rfd(cl->c), &ev) < 0)
			return CONN_EIO;
	}
#endif
	cl->mask = mask;
	return 0;
}

void poll_wait_forget(struct poll_sched *w, struct client *cl)
{
#ifdef HAVE_SYS_EPOLL_H
	/* Closing the socket would do it, unless a child holds a copy. */
	if (w->epfd >= 0 && cl->mask >= 0)
		CONN_IGNORE(epoll_ctl(w->epfd, EPOLL_CTL_DEL,
				      conn_channel_rfd(cl->c), NULL));
#else
	(void)w;
#endif
	cl->mask = -1;
}

#ifdef HAVE_SYS_EPOLL_H
/* What epoll has to report, without waiting: every client it names goes
 * on the active list. */
static int take_epoll_events(struct server *s)
{
	struct poll_sched *w = s->sched;
	int n = epoll_wait(w->epfd, w->events, EVENTS_PER_WAIT, 0), i;

	if (n < 0)
		return errno == EINTR ? 0 : CONN_EIO;
	for (i = 0; i < n; i++) {
		struct client *cl = w->events[i].data.ptr;

		cl->revents |= poll_mask(w->events[i].events);
		poll_client_activate(s, cl);
	}
	return 0;
}
#endif

int poll_wait(struct server *s, struct pollfd *fixed, nfds_t nfixed,
	      int timeout)
{
	struct poll_sched *w = s->sched;
	struct pollfd *pfd = w->pfd;
	nfds_t n = nfixed, i;
	int ready;

	memcpy(pfd, fixed, nfixed * sizeof(*pfd));
	if (w->epfd >= 0)
		pfd[n++] = (struct pollfd){ w->epfd, POLLIN, 0 };
	else
		for (i = 0; i < s->n; i++)
			pfd[n++] = (struct pollfd){
				conn_channel_rfd(s->clients[i]->c),
				s->clients[i]->mask, 0 };
	ready = poll(pfd, n, conn_stop_check_ms(timeout));
	if (ready < 0)
		return errno == EINTR ? 0 : CONN_EIO;
	memcpy(fixed, pfd, nfixed * sizeof(*pfd));
#ifdef HAVE_SYS_EPOLL_H
	if (w->epfd >= 0)
		return pfd[nfixed].revents ? take_epoll_events(s) : 0;
#endif
	for (i = nfixed; i < n; i++) {
		struct client *cl = s->clients[i - nfixed];

		if (!pfd[i].revents)
			continue;
		cl->revents |= pfd[i].revents;
		poll_client_activate(s, cl);
	}
	return 0;
}
