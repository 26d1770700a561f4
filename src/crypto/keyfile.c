/*
 * keyfile.c: where the master key comes from, and the master key rotation procedure.
 * Every command that needs the master key (serve, keys rotate, export, ...) calls
 * haven_master_key_resolve(), so the rules live in one place; docs/security.md explains
 * them for operators.
 *
 * Rotation writes PATH.new and PATH.old, re-wraps every data key in one transaction, then
 * renames PATH.new over PATH. Each data_keys row records the id of the master key that
 * wraps it, so when the process dies between the commit and the rename, the next
 * resolve sees that the data keys are under PATH.new's key and finishes the rename; when
 * it dies before the commit, the data keys are still under PATH's key and PATH.new is a
 * leftover, removed.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/keyring.h"

static void set_msg(char *msg, size_t msglen, const char *fmt, ...) HAVEN_PRINTF(3, 4);
static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	if (!msg || !msglen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

static void key_id_hex(const struct haven_master_key *k, char out[2 * HAVEN_KEY_ID_BYTES + 1])
{
	uint8_t id[HAVEN_KEY_ID_BYTES];
	haven_master_key_id(k, id);
	haven_hex_encode(id, sizeof(id), out);
}

static void explain_load_error(int err, const char *path, char *msg, size_t msglen)
{
	switch (err) {
	case HAVEN_EPERM:
		set_msg(msg, msglen,
		        "key file %s must be a regular file readable only by its owner "
		        "(chmod 600 %s)",
		        path, path);
		break;
	case HAVEN_ECORRUPT:
		set_msg(msg, msglen,
		        "key file %s is not a Haven master key (expected 64 hex digits and a "
		        "newline)",
		        path);
		break;
	case HAVEN_ENOTFOUND:
		set_msg(msg, msglen, "cannot create key file %s: its directory does not exist",
		        path);
		break;
	default:
		set_msg(msg, msglen, "key file %s: %s", path, haven_strerror(err));
	}
}

static int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int schema_has_keys(struct haven_store *s, int *yes)
{
	int version = 0;
	*yes = 0;
	if (!s)
		return HAVEN_OK;
	int err = haven_store_schema_version(s, &version);
	if (!err)
		*yes = version >= 1;
	return err;
}

/* Settles a PATH.new left by an interrupted rotation (see the top of the file). */
static int settle_new_key_file(struct haven_store *s, const char *path, const char *newpath,
                               char *msg, size_t msglen)
{
	struct haven_master_key *newk = NULL, *curk = NULL;
	int64_t under_new = 0, under_cur = 0, total = 0;
	int err = haven_master_key_load(newpath, NULL, &newk);
	if (err) {
		explain_load_error(err, newpath, msg, msglen);
		goto out;
	}
	err = haven_keyring_count(s, newk, &under_new, &total);
	if (err)
		goto db_error;
	if (file_exists(path)) {
		err = haven_master_key_load(path, NULL, &curk);
		if (err) {
			explain_load_error(err, path, msg, msglen);
			goto out;
		}
		err = haven_keyring_count(s, curk, &under_cur, &total);
		if (err)
			goto db_error;
	}
	if (under_new > 0 && under_cur == 0) {
		err = haven_file_rename_durable(newpath, path);
		if (err) {
			set_msg(msg, msglen,
			        "cannot finish the interrupted key rotation (%s -> %s): %s",
			        newpath, path, haven_strerror(err));
			goto out;
		}
		haven_log(HAVEN_LOG_WARN,
		          "event=key_rotation_completed path=%s detail=\"the data keys were "
		          "re-wrapped under the new key before an interruption\"",
		          path);
	} else {
		if (unlink(newpath) && errno != ENOENT) {
			err = haven_err_from_errno(errno);
			set_msg(msg, msglen, "cannot remove %s: %s", newpath, haven_strerror(err));
			goto out;
		}
		haven_log(HAVEN_LOG_WARN,
		          "event=key_rotation_abandoned path=%s detail=\"an interrupted rotation "
		          "had not re-wrapped the data keys; its new key was discarded\"",
		          newpath);
	}
	err = HAVEN_OK;
	goto out;
db_error:
	set_msg(msg, msglen, "cannot read the data keys: %s", haven_strerror(err));
out:
	haven_master_key_destroy(&newk);
	haven_master_key_destroy(&curk);
	return err;
}

int haven_master_key_resolve(const char *flag_path, struct haven_store *s,
                             struct haven_master_key **out, char *msg, size_t msglen)
{
	struct haven_master_key *k = NULL;
	char newpath[PATH_MAX], idhex[2 * HAVEN_KEY_ID_BYTES + 1];
	const char *env = getenv("HAVEN_MASTER_KEY");
	const char *path = haven_master_key_path(flag_path);
	const char *source = path;
	int64_t matching = 0, total = 0;
	int checks = 0, err;

	*out = NULL;
	set_msg(msg, msglen, "no error");
	err = schema_has_keys(s, &checks);
	if (err) {
		set_msg(msg, msglen, "cannot read the schema version: %s", haven_strerror(err));
		goto out;
	}

	if (env && *env) {
		source = "HAVEN_MASTER_KEY";
		err = haven_master_key_load(NULL, env, &k);
		if (err) {
			set_msg(msg, msglen, "HAVEN_MASTER_KEY must be 64 hex digits");
			goto out;
		}
	} else {
		int n = snprintf(newpath, sizeof(newpath), "%s.new", path);
		if (n < 0 || (size_t)n >= sizeof(newpath)) {
			err = HAVEN_ELIMIT;
			set_msg(msg, msglen, "key file path too long: %s", path);
			goto out;
		}
		if (file_exists(newpath)) {
			if (!checks) {
				haven_log(
				    HAVEN_LOG_WARN,
				    "event=key_rotation_pending path=%s detail=\"left by an "
				    "interrupted rotation; settled at the next start with the "
				    "database\"",
				    newpath);
			} else {
				err = settle_new_key_file(s, path, newpath, msg, msglen);
				if (err)
					goto out;
			}
		}
		if (checks && !file_exists(path)) {
			/* Never create a fresh key over data wrapped under a lost one. */
			err = haven_keyring_count(s, NULL, &matching, &total);
			if (err) {
				set_msg(msg, msglen, "cannot read the data keys: %s",
				        haven_strerror(err));
				goto out;
			}
			if (total > 0) {
				err = HAVEN_ENOTFOUND;
				set_msg(msg, msglen,
				        "key file %s is missing but the database holds %lld data "
				        "keys wrapped under a master key: restore the key file",
				        path, (long long)total);
				goto out;
			}
		}
		err = haven_master_key_load(path, NULL, &k);
		if (err) {
			explain_load_error(err, path, msg, msglen);
			goto out;
		}
	}

	if (checks) {
		err = haven_keyring_count(s, k, &matching, &total);
		if (err) {
			set_msg(msg, msglen, "cannot read the data keys: %s", haven_strerror(err));
			goto out;
		}
		if (matching != total) {
			err = HAVEN_EAUTH;
			key_id_hex(k, idhex);
			set_msg(msg, msglen,
			        "%lld of %lld data keys are wrapped under a different master key "
			        "than the one in %s (id %s): wrong key?",
			        (long long)(total - matching), (long long)total, source, idhex);
			goto out;
		}
	}
	*out = k;
	k = NULL;
	err = HAVEN_OK;
out:
	haven_master_key_destroy(&k);
	return err;
}

int haven_master_key_rotate_file(struct haven_store *s, const char *flag_path, int64_t *count,
                                 char *msg, size_t msglen)
{
	struct haven_master_key *cur = NULL, *next = NULL;
	char newpath[PATH_MAX], oldpath[PATH_MAX], idhex[2 * HAVEN_KEY_ID_BYTES + 1];
	const char *path = haven_master_key_path(flag_path);
	const char *env = getenv("HAVEN_MASTER_KEY");
	int err, checks = 0;

	*count = 0;
	set_msg(msg, msglen, "no error");
	if (env && *env) {
		set_msg(msg, msglen,
		        "HAVEN_MASTER_KEY is set: rotation replaces a key file; unset it and "
		        "rotate the key file, or re-wrap by hand (see docs/security.md)");
		return HAVEN_EUNSUPPORTED;
	}
	int n1 = snprintf(newpath, sizeof(newpath), "%s.new", path);
	int n2 = snprintf(oldpath, sizeof(oldpath), "%s.old", path);
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(newpath) || (size_t)n2 >= sizeof(oldpath)) {
		set_msg(msg, msglen, "key file path too long: %s", path);
		return HAVEN_ELIMIT;
	}
	err = schema_has_keys(s, &checks);
	if (!err && !checks)
		err = HAVEN_EINVAL;
	if (err) {
		set_msg(msg, msglen, "the database is not migrated (run 'haven migrate' first)");
		return err;
	}
	/* Also settles a rotation that was interrupted earlier. */
	err = haven_master_key_resolve(flag_path, s, &cur, msg, msglen);
	if (err)
		goto out;
	err = haven_master_key_generate(&next);
	if (err) {
		set_msg(msg, msglen, "cannot generate a key: %s", haven_strerror(err));
		goto out;
	}
	/* 1. Both keys on disk before the database changes. */
	err = haven_master_key_save(next, newpath);
	if (err) {
		set_msg(msg, msglen, "cannot write %s: %s", newpath, haven_strerror(err));
		goto out;
	}
	err = haven_master_key_save(cur, oldpath);
	if (err) {
		set_msg(msg, msglen, "cannot write %s: %s", oldpath, haven_strerror(err));
		unlink(newpath);
		goto out;
	}
	/* 2. One transaction: every data key under the new key, or none. */
	err = haven_keyring_rotate(s, cur, next, count);
	if (err) {
		set_msg(msg, msglen, "re-wrapping the data keys failed, nothing changed: %s",
		        haven_strerror(err));
		unlink(newpath);
		goto out;
	}
	/* 3. Install the new key. */
	err = haven_file_rename_durable(newpath, path);
	if (err) {
		key_id_hex(next, idhex);
		set_msg(msg, msglen,
		        "the data keys are re-wrapped under the key in %s (id %s) but it could not "
		        "replace %s (%s); the next start finishes the rotation",
		        newpath, idhex, path, haven_strerror(err));
		goto out;
	}
	haven_log(HAVEN_LOG_INFO, "event=key_rotated path=%s rewrapped=%lld", path,
	          (long long)*count);
out:
	haven_master_key_destroy(&cur);
	haven_master_key_destroy(&next);
	return err;
}
