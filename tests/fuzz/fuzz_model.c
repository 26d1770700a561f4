/* fuzz_model.c: libFuzzer target for the model file loader. Each input is loaded twice:
 * as is (checksum verified) and with the checksum check skipped, so that mutations reach
 * the section parser; a model that loads must also predict and explain without trouble. */
#include <stdint.h>
#include <string.h>

#include "nlp/nlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	for (int pass = 0; pass < 2; pass++) {
		struct haven_model *m = NULL;
		unsigned flags = HAVEN_LOAD_COPY | (pass ? HAVEN_LOAD_NO_CHECKSUM : 0);
		if (haven_model_load_mem(data, size, flags, &m, err, sizeof(err)))
			continue;
		struct haven_nlp_ws *ws = NULL;
		if (!haven_nlp_ws_create(&ws)) {
			static const char text[] = "I can't sleep :( and everything feels pointless";
			struct haven_prediction p;
			struct haven_explanation e;
			if (!haven_model_predict(m, ws, text, sizeof(text) - 1, &p))
				(void)haven_model_explain(m, ws, text, sizeof(text) - 1, p.top, 5, &e);
			haven_nlp_ws_destroy(&ws);
		}
		haven_model_destroy(&m);
	}
	return 0;
}
