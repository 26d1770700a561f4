/* fuzz_crisis.c: the crisis screen on arbitrary bytes (libFuzzer). The first byte picks
 * whether the input is a message (assessed) or a lexicon file (parsed and, when valid,
 * used to assess a fixed message). Built by `make fuzz`; seeds in tests/fuzz/corpus/crisis/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nlp/crisis.h"

static struct haven_crisis *screen;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (!screen && haven_crisis_create("content/lexicon/crisis-v1.txt", "", &screen, err,
					   sizeof(err)))
		abort(); /* run from the repository root */
	struct haven_crisis_result r;
	if (size > 0 && data[0] == '@') {
		struct haven_crisis_lexicon *lex;
		if (haven_crisis_lexicon_parse((const char *)data, size, "fuzz", &lex, err,
					       sizeof(err)) == 0)
			haven_crisis_lexicon_destroy(&lex);
		return 0;
	}
	haven_crisis_assess(screen, (const char *)data, size, &r);
	if (r.level > HAVEN_RISK_HIGH || r.score < 0 || r.score > 1 ||
	    r.n_reasons > HAVEN_CRISIS_MAX_REASONS)
		abort();
	for (size_t i = 0; i < r.n_reasons; i++)
		if (r.reasons[i].start > r.reasons[i].end || r.reasons[i].end > size)
			abort();
	return 0;
}
