/*
 * replay.c - a main() for a fuzz harness without libFuzzer: runs it over
 * every saved input of that harness and prints TAP, so that make check
 * (and the sanitizer build) replays each crash ever found and the seeds.
 *
 * Usage: replay-HARNESS [DIR|FILE]...  Without arguments, the directories
 * seeds/HARNESS and regressions/HARNESS under FUZZ_INPUTS (tests/fuzz of
 * the source tree, compiled in).  Each input runs in a child process:
 * a crash, a sanitizer report or a leak fails that input alone.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FUZZ_HARNESS
#error "FUZZ_HARNESS must name the harness"
#endif
#ifndef FUZZ_INPUTS
#define FUZZ_INPUTS "tests/fuzz"
#endif

/* Beyond any input's honest running time: a hang is a failure too. */
#define INPUT_SECONDS 60

static int tests, failures;

static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL, *grown;
	size_t cap = 0, n;

	*size = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (*size == cap) {
			cap = cap ? 2 * cap : 4096;
			grown = realloc(data, cap);
			if (grown == NULL)
				break;
			data = grown;
		}
		n = fread(data + *size, 1, cap - *size, f);
		*size += n;
		if (n == 0)
			break;
	}
	if (ferror(f) || data == NULL) {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

/* Runs the harness on the file's bytes in a child; true if it passed. */
static bool replay_in_child(const char *path)
{
	uint8_t *data, *exact;
	size_t size;
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		alarm(INPUT_SECONDS);
		data = read_file(path, &size);
		if (data == NULL)
			_exit(126);
		/* An exact-size copy, as libFuzzer gives it. */
		exact = fuzz_copy(data, size);
		free(data);
		LLVMFuzzerTestOneInput(exact, size);
		free(exact);
		exit(0);	/* not _exit: leak checkers run at exit */
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	if (WIFSIGNALED(status))
		printf("# %s: killed by signal %d\n", path, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		printf("# %s: exit status %d\n", path, WEXITSTATUS(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void replay_file(const char *path)
{
	bool ok = replay_in_child(path);

	tests++;
	failures += !ok;
	printf("%sok %d - %s %s\n", ok ? "" : "not ", tests, FUZZ_HARNESS,
	       path);
}

static int visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Every regular file of a directory, in name order; none if it is absent. */
static void replay_dir(const char *dir)
{
	struct dirent **entries;
	char path[4096];
	struct stat st;
	int n, i;

	n = scandir(dir, &entries, visible, alphasort);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			replay_file(path);
		free(entries[i]);
	}
	if (n >= 0)
		free(entries);
}

static void replay_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		replay_dir(path);
	else
		replay_file(path);
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "seeds", "regressions" };
	char dir[4096];
	size_t i;
	int a;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1) {
		for (a = 1; a < argc; a++)
			replay_path(argv[a]);
	} else {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			snprintf(dir, sizeof(dir), "%s/%s/%s", FUZZ_INPUTS,
				 kinds[i], FUZZ_HARNESS);
			replay_dir(dir);
		}
	}
	if (tests == 0) {
		printf("1..0 # SKIP no saved inputs for %s\n", FUZZ_HARNESS);
		return 0;
	}
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
