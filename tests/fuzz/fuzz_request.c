/*
 * fuzz_request.c: libFuzzer target for request body decoding and validation. The
 * first input byte picks a route's body schema (login, registration, user, consents,
 * check-in); the rest goes through haven_body_decode, the same code every handler's
 * body passes through. Any outcome is fine except a crash, a leak, undefined behaviour,
 * or an error reply that is not valid UTF-8 or is empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct haven_body_schema *schemas[] = {
	    &haven__login_schema,    &haven__register_schema, &haven__user_create_schema,
	    &haven__consents_schema, &haven__checkin_schema,
	};
	if (size < 1)
		return 0;
	const struct haven_body_schema *s = schemas[data[0] % 5];
	struct haven_arena arena;
	haven_arena_init(&arena, 1u << 22);
	void *target = haven_arena_alloc(&arena, s->size);
	char err[400];
	err[0] = '\0';
	if (target) {
		int rc = haven_body_decode(s, (const char *)data + 1, size - 1, &arena, target, err,
		                           sizeof(err));
		if (rc) {
			if (!err[0])
				abort();
		} else {
			/* Every decoded string must be valid UTF-8 and NUL-terminated. */
			for (const struct haven_field *f = s->fields; f->name; f++) {
				const struct haven_jv *jv =
				    (const struct haven_jv *)((const char *)target + f->offset);
				if (f->type == HAVEN_JT_STRING && jv->present &&
				    (!haven_utf8_valid(jv->s, jv->len, NULL) || jv->s[jv->len]))
					abort();
			}
		}
	}
	haven_arena_release(&arena);
	return 0;
}
