/*
 * server-render.c - conn-listen -k: renderings that take long (repr, json
 * and pickle-dis of a big or costly pickle) run in threads of their own,
 * so that one client's pickle never stalls the loop that serves the
 * others.
 *
 * A message is first rendered in place within a small budget of work
 * (conn_render_options' max_work, a few milliseconds).  Past it, the
 * message goes to a job: a thread renders it while the loop goes on (at
 * the same priority: a lower one would starve it on a busy machine, and
 * the loop, asleep most of the time, is scheduled first when it wakes); the client is not read meanwhile (its next messages
 * wait in its socket), so one client takes one thread at most, and at
 * most one thread per CPU runs at once (the others queue, first come
 * first served).  A job past --render-timeout seconds of its thread's
 * CPU time is canceled and its client dropped.  When a job is done, its
 * thread writes a byte to a pipe the loop polls, and the loop writes the
 * rendering to stdout as if it had just been made.
 */
#include "server-poll.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Work rendered in place: about 2 ms (see conn_render_options). */
#define INLINE_WORK 200000
#define CHECK_MS 100		/* how often the jobs' CPU time is read */

struct render_job {
	struct client *cl;	/* NULL once the client has gone */
	struct conn_buffer msg;	/* the message: the job's own */
	enum conn_format format;
	bool keep_going;
	const struct conn_pickle_policy *policy; /* NULL: judged already */
	bool denied;		/* by the policy: result.why says why */
	volatile int cancel;
	struct conn_render_options opt;
	pthread_t thread;
	bool running;
	atomic_bool done;
	int wake_fd;		/* the pool's pipe, to say done */
	struct poll_rendering result;
	struct render_job *next;
};

struct render_pool {
	struct render_job *jobs;	/* in arrival order */
	unsigned running, max_running;
	int wake[2];			/* a done job writes to wake[1] */
};

void poll_render_options(const struct server *s,
			 struct conn_render_options *opt, bool in_place)
{
	*opt = s->o->render;	/* --python-repr's */
	/* A rendering is held whole too: within the budget's half that a
	 * big message may take. */
	opt->max_output = s->o->max_buffer / 2;
	opt->max_memory = s->o->max_buffer / 2;
	opt->max_work = in_place ? INLINE_WORK : 0;
}

static int pool_open(struct server *s)
{
	struct render_pool *p;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (s->render)
		return 0;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return CONN_ENOMEM;
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(p);
		return CONN_ENOMEM;
	}
	p->max_running = cpus > 0 ? (unsigned)cpus : 1;
	s->render = p;
	return 0;
}

/* The thread: judges (--pickle-policy) and renders, says so, ends. */
static void *job_run(void *arg)
{
	struct render_job *j = arg;
	struct poll_rendering *r = &j->result;
	const uint8_t *data = j->msg.data + j->msg.start;
	size_t size = conn_buffer_len(&j->msg);
	char byte = 1;
	ssize_t n;

	j->opt.cancel = &j->cancel;
	if (j->policy) {
		bool allowed = false;

		r->rc = conn_pickle_policy_check_with(j->policy, &allowed,
						      r->why, sizeof(r->why),
						      &j->opt, data, size);
		j->denied = r->rc == 0 && !allowed;
	}
	if (j->policy == NULL || (r->rc == 0 && !j->denied))
		r->rc = conn_format_render_or_hex_with(&r->text, &r->len,
						       &r->hex, r->why,
						       sizeof(r->why),
						       j->format, &j->opt,
						       data, size,
						       j->keep_going);
	atomic_store(&j->done, true);
	/* A full pipe (EAGAIN) wakes the loop already, and the loop looks
	 * at every job then. */
	n = write(j->wake_fd, &byte, 1);
	(void)n;
	return NULL;
}

/* Starts the jobs that wait, oldest first, while threads are free. */
static void start_waiting(struct server *s)
{
	struct render_pool *p = s->render;
	struct render_job *j;

	for (j = p->jobs; j && p->running < p->max_running; j = j->next) {
		if (j->running || atomic_load(&j->done))
			continue;
		j->wake_fd = p->wake[1];
		if (pthread_create(&j->thread, NULL, job_run, j) != 0) {
			/* No thread to be had: the job fails as out of
			 * memory, its client dropped with the warning, at
			 * the loop's next look (the pipe wakes it). */
			char byte = 1;
			ssize_t n;

			j->result.rc = CONN_ENOMEM;
			atomic_store(&j->done, true);
			n = write(p->wake[1], &byte, 1);
			(void)n;	/* (full: the loop is woken already) */
			continue;
		}
		j->running = true;
		p->running++;
	}
}

int poll_render_start(struct server *s, struct client *cl,
		      struct conn_buffer *msg, bool judged)
{
	struct render_job *j, **end;
	int rc = pool_open(s);

	if (rc)
		return rc;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return CONN_ENOMEM;
	j->cl = cl;
	j->msg = *msg;
	*msg = (struct conn_buffer){ 0 };
	j->format = s->o->out_format;
	j->keep_going = s->o->keep_going;
	j->policy = judged ? NULL : s->o->policy;
	poll_render_options(s, &j->opt, false);
	atomic_init(&j->done, false);
	for (end = &s->render->jobs; *end; end = &(*end)->next)
		;
	*end = j;
	cl->job = j;
	start_waiting(s);
	return 0;
}

/* Lets a job go: its thread joined, its memory freed. */
static void job_free(struct render_pool *p, struct render_job *j)
{
	if (j->running) {
		pthread_join(j->thread, NULL);
		p->running--;
	}
	free(j->result.text);
	conn_buffer_free(&j->msg);
	free(j);
}

void poll_render_orphan(struct client *cl)
{
	if (cl->job) {
		cl->job->cl = NULL;
		cl->job->cancel = 1;
		cl->job = NULL;
	}
}

/* A done job's rendering goes out for its client (if it is still here). */
static void finish(struct server *s, struct render_job *j)
{
	struct client *cl = j->cl;

	if (cl == NULL)
		return;
	cl->job = NULL;
	if (j->result.rc == CONN_ECANCELED) {
		char why[200];

		snprintf(why, sizeof(why), "message %llu takes more than "
			 "%lld s of CPU to render as %s (--render-timeout); "
			 "the client is dropped",
			 (unsigned long long)cl->received + 1,
			 (long long)(s->o->render_timeout_ms / 1000),
			 conn_format_name(j->format));
		poll_client_fail(s, cl, CONN_ETIMEDOUT, why);
		return;
	}
	if (j->denied) {
		poll_say_dropped(s, cl, j->result.why);
		poll_count_message(s, cl, conn_buffer_len(&j->msg));
	} else {
		poll_show_rendering(s, cl, &j->result,
				    conn_buffer_len(&j->msg));
	}
	/* The client's next messages, or its end, were waiting. */
	poll_client_messages(s, cl);
}

void poll_render_collect(struct server *s)
{
	struct render_pool *p = s->render;
	struct render_job **at, *j;
	char drain[64];

	if (p == NULL)
		return;
	while (read(p->wake[0], drain, sizeof(drain)) > 0)
		;
	at = &p->jobs;
	while ((j = *at) != NULL) {
		if (!atomic_load(&j->done)) {
			at = &j->next;
			continue;
		}
		*at = j->next;
		finish(s, j);
		job_free(p, j);
	}
	start_waiting(s);
}

/* The CPU time a job's thread has taken, in ms. */
static int64_t job_cpu_ms(const struct render_job *j)
{
	struct timespec t;
	clockid_t clock;

	if (pthread_getcpuclockid(j->thread, &clock) != 0 ||
	    clock_gettime(clock, &t) != 0)
		return 0;	/* (the thread just ended: it is done) */
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int poll_render_expire(struct server *s)
{
	struct render_pool *p = s->render;
	struct render_job *j;
	int64_t limit = s->o->render_timeout_ms;

	if (p == NULL || p->running == 0 || limit == 0)
		return -1;
	for (j = p->jobs; j; j = j->next)
		if (j->running && !atomic_load(&j->done) &&
		    job_cpu_ms(j) > limit)
			j->cancel = 1;
	return CHECK_MS;
}

int poll_render_fd(const struct server *s)
{
	return s->render && s->render->jobs ? s->render->wake[0] : -1;
}

unsigned poll_render_close(struct server *s, bool say)
{
	struct render_pool *p = s->render;
	struct render_job *j;
	unsigned lost = 0;

	if (p == NULL)
		return 0;
	for (j = p->jobs; j; j = j->next)
		j->cancel = 1;
	while ((j = p->jobs) != NULL) {
		p->jobs = j->next;
		/* Stopped with a message being rendered: said, not lost
		 * unseen. */
		if (j->cl && say)
			server_say(s, CONN_LOG_WARNING, "%s: message %llu "
				   "(%zu bytes) is not shown: stopped while it "
				   "was being rendered", j->cl->name,
				   (unsigned long long)j->cl->received + 1,
				   conn_buffer_len(&j->msg));
		lost += j->cl != NULL;
		if (j->cl)
			j->cl->job = NULL;
		job_free(p, j);
	}
	close(p->wake[0]);
	close(p->wake[1]);
	free(p);
	s->render = NULL;
	return lost;
}
