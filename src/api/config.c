/*
 * config.c: the server's configuration file and option names. The file is plain
 * "name = value" lines, '#' comments, the same names as the command-line flags
 * (docs/configuration.md lists them); environment variables HAVEN_<NAME> override the
 * file and flags override both (the order is applied by `haven serve`).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "api/api.h"

static int parse_int_range(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t x;
	if (haven_parse_int64(v, &x) || x < lo || x > hi)
		return HAVEN_EINVAL;
	*out = x;
	return HAVEN_OK;
}

/* "HOST:PORT", "[v6]:PORT" or ":PORT". */
static int parse_listen(struct haven_api_config *cfg, const char *v)
{
	const char *colon = strrchr(v, ':');
	int64_t port;
	if (!colon || parse_int_range(colon + 1, 0, 65535, &port))
		return HAVEN_EINVAL;
	const char *h = v;
	size_t hl = (size_t)(colon - v);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0) {
		h = "127.0.0.1";
		hl = strlen(h);
	}
	if (hl >= sizeof(cfg->host))
		return HAVEN_EINVAL;
	memcpy(cfg->host, h, hl);
	cfg->host[hl] = '\0';
	cfg->port = (int)port;
	return HAVEN_OK;
}

int haven_api_config_set(struct haven_api_config *cfg, const char *name, const char *value)
{
	int64_t v;
	if (!strcmp(name, "listen"))
		return parse_listen(cfg, value);
	if (!strcmp(name, "locale")) {
		size_t n = strlen(value);
		if (n < 2 || n >= sizeof(cfg->locale))
			return HAVEN_EINVAL;
		for (size_t i = 0; i < n; i++)
			if (!isalpha((unsigned char)value[i]) && value[i] != '-' && value[i] != '_')
				return HAVEN_EINVAL;
		memcpy(cfg->locale, value, n + 1);
		return HAVEN_OK;
	}
	if (!strcmp(name, "threads")) {
		if (parse_int_range(value, 1, 256, &v))
			return HAVEN_EINVAL;
		cfg->threads = (int)v;
	} else if (!strcmp(name, "max_connections")) {
		if (parse_int_range(value, 1, 100000, &v))
			return HAVEN_EINVAL;
		cfg->max_connections = (int)v;
	} else if (!strcmp(name, "connection_timeout")) {
		if (parse_int_range(value, 1, 3600, &v))
			return HAVEN_EINVAL;
		cfg->connection_timeout_s = (int)v;
	} else if (!strcmp(name, "request_timeout")) {
		if (parse_int_range(value, 1, 3600, &v))
			return HAVEN_EINVAL;
		cfg->request_timeout_s = (int)v;
	} else if (!strcmp(name, "max_body")) {
		if (parse_int_range(value, 1024, 64LL << 20, &v))
			return HAVEN_EINVAL;
		cfg->max_body = (size_t)v;
	} else if (!strcmp(name, "max_header")) {
		if (parse_int_range(value, 4096, 1LL << 20, &v))
			return HAVEN_EINVAL;
		cfg->max_header = (size_t)v;
	} else if (!strcmp(name, "session_ttl")) {
		if (parse_int_range(value, 60, 90LL * 24 * 3600, &v))
			return HAVEN_EINVAL;
		cfg->session_ttl_ms = v * 1000;
	} else if (!strcmp(name, "invitation_ttl")) {
		if (parse_int_range(value, 60, 365LL * 24 * 3600, &v))
			return HAVEN_EINVAL;
		cfg->invitation_ttl_ms = v * 1000;
	} else if (!strcmp(name, "login_fail_account")) {
		if (parse_int_range(value, 1, 1000000, &v))
			return HAVEN_EINVAL;
		cfg->login_fail_account = (int)v;
	} else if (!strcmp(name, "login_fail_address")) {
		if (parse_int_range(value, 1, 1000000, &v))
			return HAVEN_EINVAL;
		cfg->login_fail_address = (int)v;
	} else if (!strcmp(name, "login_window")) {
		if (parse_int_range(value, 1, 7LL * 24 * 3600, &v))
			return HAVEN_EINVAL;
		cfg->login_window_ms = v * 1000;
	} else if (!strcmp(name, "shutdown_grace")) {
		if (parse_int_range(value, 0, 3600, &v))
			return HAVEN_EINVAL;
		cfg->shutdown_grace_ms = (int)v * 1000;
	} else if (!strcmp(name, "web_root")) {
		if (strlen(value) >= sizeof(cfg->web_root))
			return HAVEN_EINVAL;
		haven_strlcpy(cfg->web_root, value, sizeof(cfg->web_root));
	} else if (!strcmp(name, "cookie_secure")) {
		if (parse_int_range(value, 0, 1, &v))
			return HAVEN_EINVAL;
		cfg->cookie_secure = (int)v;
	} else {
		return HAVEN_EINVAL;
	}
	return HAVEN_OK;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int haven_api_config_load(struct haven_api_config *cfg, const char *path, char *db_url,
                          size_t db_url_size, char *key_file, size_t key_file_size, char *err,
                          size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0, rc = HAVEN_OK;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return haven_err_from_errno(errno);
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'name = value'", path, lineno);
			rc = HAVEN_EINVAL;
			break;
		}
		*eq = '\0';
		char *name = trim(s), *value = trim(eq + 1);
		if (!strcmp(name, "db")) {
			if (db_url)
				haven_strlcpy(db_url, value, db_url_size);
		} else if (!strcmp(name, "key_file")) {
			if (key_file)
				haven_strlcpy(key_file, value, key_file_size);
		} else if (haven_api_config_set(cfg, name, value)) {
			snprintf(err, errlen, "%s:%d: unknown option or bad value for '%.40s'",
			         path, lineno, name);
			rc = HAVEN_EINVAL;
			break;
		}
	}
	fclose(f);
	return rc;
}
