/* fuzz_content.c: the support agent's data parsers on arbitrary bytes (libFuzzer). The
 * first byte picks the parser: '@' the crisis lines file (src/safety), anything else a flow
 * file (src/dialog/content.c), parsed and, when it parses, linked. Neither may crash, leak or
 * accept a file and then fail to free it. Built by `make fuzz`; seeds in
 * tests/fuzz/corpus/content/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dialog/content.h"
#include "safety/safety.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	if (size > 0 && data[0] == '@') {
		struct haven_crisis_lines *l = NULL;
		if (haven_crisis_lines_parse((const char *)data + 1, size - 1, "fuzz", &l, err,
					     sizeof(err)) == 0) {
			if (!l || !haven_crisis_lines_for(l, "en-GB") || !haven_crisis_lines_for(l, "xx"))
				abort();
			haven_crisis_lines_destroy(&l);
		}
		return 0;
	}
	struct haven_content *c = NULL;
	if (haven_content_create(&c))
		return 0;
	if (haven_content_parse(c, (const char *)data, size, "fuzz.flow", err, sizeof(err)) == 0)
		(void)haven_content_link(c, err, sizeof(err));
	haven_content_destroy(&c);
	return 0;
}
