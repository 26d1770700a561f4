/* fuzz_exercise_texts.c: the exercises page's words (content/exercises.txt, parsed by
 * src/dialog/exercise_texts.c) on arbitrary bytes (libFuzzer), checked against the shipped
 * flows, loaded once. It may not crash, leak, or accept a file that leaves a `menu` flow
 * without an entry or a rated flow without its rating. Built by `make fuzz`; seeds in
 * tests/fuzz/corpus/exercise_texts/ (the shipped file). Run from the repository root. */
#include <stdint.h>
#include <stdlib.h>

#include "dialog/content.h"
#include "dialog/exercise_texts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct haven_content *c;
	char err[512];
	if (!c && haven_content_load("content/flows", &c, err, sizeof(err)))
		abort(); /* run from the repository root */
	struct haven_exercise_texts *t = NULL;
	if (haven_exercise_texts_parse((const char *)data, size, "fuzz.txt", c, &t, err,
	                               sizeof(err)) == 0) {
		for (size_t i = 0; i < c->nflows; i++) {
			const struct haven_exercise_text *e = haven_exercise_text_of(t, c->flows[i].name);
			if (c->flows[i].menu && (!e || !e->description || !e->start || !e->kind ||
			                         (c->flows[i].exercise && !e->rating)))
				abort();
		}
		haven_exercise_texts_destroy(&t);
	} else if (t) {
		abort();
	}
	return 0;
}
