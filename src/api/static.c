/*
 * static.c: the web pages. A GET or HEAD outside /api/ that no route answers is a file
 * under cfg.web_root: "/" is index.html. Paths are checked before the file system sees
 * them (only letters, digits, '-', '_', '.' and '/', no empty, hidden, "." or ".."
 * segment), the file is opened without following a final symbolic link and its real path
 * must lie inside the real web root, so nothing outside web/ can be named.
 *
 * Every reply carries an ETag (BLAKE2b of the content) and "Cache-Control: no-cache": the
 * browser keeps the file and revalidates it, getting 304 Not Modified while it is unchanged,
 * so a new release is seen at once without hashed file names or a build step. The
 * security headers (Content-Security-Policy and the rest) are added to every reply in
 * server.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"

#define STATIC_MAX_BYTES (8u << 20)
#define STATIC_MAX_PATH 200

static const struct {
	const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
    {".woff2", "font/woff2"},
};

static const char *type_for(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return NULL;
}

/* 1 when path is a safe relative name: segments of [A-Za-z0-9._-], none empty, none
 * starting with '.' (which also refuses "." and ".."). */
static int path_safe(const char *path)
{
	size_t n = strlen(path);
	if (n == 0 || n > STATIC_MAX_PATH)
		return 0;
	const char *seg = path;
	for (const char *p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == seg || *seg == '.')
				return 0;
			if (*p == '\0')
				return 1;
			seg = p + 1;
			continue;
		}
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
}

static const char not_found_page[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found - "
    "Haven</title><link rel=\"stylesheet\" href=\"/css/haven.css\"></head><body><main "
    "class=\"narrow\"><h1>Page not found</h1><p>There is no page at this address.</p><p><a "
    "href=\"/\">Go to Haven's start page</a></p></main></body></html>\n";

static void not_found(struct haven_req *r)
{
	r->cache_control = "no-cache";
	haven_reply_text(r, 404, "text/html; charset=utf-8", not_found_page,
	                 sizeof(not_found_page) - 1);
}

void haven__static_serve(struct haven_req *r)
{
	const char *root = r->api->cfg.web_root;
	int fd = -1;
	char *data = NULL;
	char real_root[PATH_MAX], real_file[PATH_MAX];
	r->is_static = 1;
	if (!root[0] || r->path[0] != '/') {
		not_found(r);
		return;
	}
	const char *rel = r->path + 1;
	if (!*rel)
		rel = "index.html";
	const char *type = type_for(rel);
	if (!type || !path_safe(rel) || !realpath(root, real_root)) {
		not_found(r);
		return;
	}
	char *full = haven_arena_printf(&r->arena, "%s/%s", real_root, rel);
	if (!full) {
		haven_reply_err(r, HAVEN_ENOMEM, "serving a page");
		return;
	}
	fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t rootlen = strlen(real_root);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_BYTES ||
	    !realpath(full, real_file) || strncmp(real_file, real_root, rootlen) ||
	    real_file[rootlen] != '/') {
		not_found(r);
		goto out;
	}
	size_t size = (size_t)st.st_size, got = 0;
	data = malloc(size ? size : 1);
	if (!data) {
		haven_reply_err(r, HAVEN_ENOMEM, "serving a page");
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != size) {
		haven_reply_err(r, HAVEN_EIO, "reading a page");
		goto out;
	}
	uint8_t digest[32];
	char hex[65];
	haven_blake2b(data, size, NULL, 0, digest);
	haven_hex_encode(digest, 16, hex);
	r->etag = haven_arena_printf(&r->arena, "\"%s\"", hex);
	r->cache_control = "no-cache";
	const char *inm = haven__header(r, "If-None-Match");
	if (r->etag && inm && strstr(inm, r->etag)) {
		haven_reply_empty(r, 304);
		goto out;
	}
	haven_reply_text(r, 200, type, data, size);
out:
	if (fd >= 0)
		close(fd);
	free(data);
}
