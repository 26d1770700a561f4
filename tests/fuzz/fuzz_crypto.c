/* fuzz_crypto.c: everything in crypto that parses bytes from outside: sealed fields and
 * wrapped keys read back from the database, and master key text (file or environment).
 * None of it may crash, leak or accept forged input. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct haven_master_key *mk;
	static struct haven_data_key *dk;
	if (!mk) {
		if (haven_crypto_init() || haven_master_key_generate(&mk) ||
		    haven_data_key_generate(&dk))
			abort();
	}
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	/* Random bytes never authenticate. */
	if (haven_open(dk, "haven/v1|t|r|1|f", data, size, &pt, &pt_len) == 0)
		abort();
	struct haven_data_key *out = NULL;
	if (haven_data_key_unwrap(mk, 1, data, size, &out) == 0)
		abort();
	uint8_t id[HAVEN_KEY_ID_BYTES];
	(void)haven_data_key_wrapped_key_id(data, size, id);

	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct haven_master_key *k = NULL;
	if (haven_master_key_load(NULL, text, &k) == 0)
		haven_master_key_destroy(&k);
	char ad[128];
	(void)haven_crypto_ad(ad, sizeof(ad), text, "r", 1, "f");
	free(text);
	return 0;
}
