/* fuzz_sensing.c: the sensing parser (plain JSON and FHIR R4 Observation or Bundle) and
 * the monitoring configuration on arbitrary bytes (libFuzzer). The first byte picks the
 * target: '#' the configuration (applied over the defaults), anything else a POST
 * /sensing body. Every accepted observation must be in range and not in the future.
 * Built by `make fuzz`; seeds in tests/fuzz/corpus/sensing/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "measures/monitor.h"
#include "measures/sensing.h"

#define NOW_MS 1795608000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int config = size > 0 && data[0] == '#';
	json_error_t jerr;
	json_t *o = json_loadb((const char *)data + config, size - (size_t)config,
	                       JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return 0;
	char err[300];
	if (config) {
		struct haven_monitor_config c;
		haven_monitor_config_default(&c);
		if (haven_monitor_config_apply(&c, o, err, sizeof(err)) == 0) {
			json_t *back = haven_monitor_config_json(&c);
			struct haven_monitor_config d;
			haven_monitor_config_default(&d);
			if (!back || haven_monitor_config_apply(&d, back, err, sizeof(err)))
				abort(); /* what the server writes, it must read back */
			json_decref(back);
		}
		json_decref(o);
		return 0;
	}
	struct haven_sensing_obs *obs = NULL;
	size_t n = 0;
	const char *code;
	if (haven_sensing_parse(o, NOW_MS, 60, &obs, &n, &code, err, sizeof(err)) == 0) {
		if (n == 0 || n > HAVEN_SENSING_BATCH_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (obs[i].kind < 0 || obs[i].kind >= HAVEN_SENSING_NKINDS ||
			    obs[i].value < 0 || obs[i].value > 100000 ||
			    obs[i].effective_ms > NOW_MS + 5 * 60000 + 86400000LL)
				abort();
	} else if (obs || !code || !*code || !err[0])
		abort();
	free(obs);
	json_decref(o);
	return 0;
}
