/*
 * fhir.c: FHIR R4 Bundle of a patient's assessments (see fhir.h for the mapping).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"
#include "measures/measures.h"

#define LOINC "http://loinc.org"
#define OBS_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
#define ANSWER_SYSTEM "urn:haven:fhir:answer:"
#define CODE_SYSTEM HAVEN_FHIR_CODE_SYSTEM
#define QUESTIONNAIRE_URL "urn:haven:fhir:questionnaire:"

/* ---- Pseudonym ---- */

static int copy_text(const struct haven_row *row, void *arg)
{
	const char *t = haven_row_text(row, 0, NULL);
	haven_strlcpy(arg, t ? t : "", 33);
	return 0;
}

static int pseudonym_get(struct haven_tx *tx, int64_t patient_id, char out[33])
{
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	int64_t one;
	int rc = haven_tx_query_int(tx, "SELECT id FROM users WHERE id = ? AND role = 'patient'", p,
	                            1, &one);
	if (rc)
		return rc;
	out[0] = '\0';
	rc = haven_tx_query(tx, "SELECT pseudonym FROM fhir_pseudonyms WHERE patient_id = ?", p, 1,
	                    copy_text, out);
	if (rc || out[0])
		return rc;
	haven_random_id(out);
	struct haven_param ins[] = {HAVEN_P_INT(patient_id), HAVEN_P_TEXT(out),
	                            HAVEN_P_INT(haven_now_ms())};
	return haven_tx_exec(tx,
	                     "INSERT INTO fhir_pseudonyms (patient_id, pseudonym, created_at) "
	                     "VALUES (?, ?, ?)",
	                     ins, 3, NULL);
}

/* A UUID (RFC 4122 layout, version 5 bits) derived from the pseudonym and a name. */
static void derived_uuid(const char *pseudonym, const char *kind, const char *name, char out[37])
{
	char seed[256];
	uint8_t h[32];
	snprintf(seed, sizeof(seed), "haven-fhir|%s|%s|%s", pseudonym, kind, name);
	haven_blake2b(seed, strlen(seed), NULL, 0, h);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	char hex[33];
	haven_hex_encode(h, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static json_t *ref(const char *uuid)
{
	char r[64];
	snprintf(r, sizeof(r), "urn:uuid:%s", uuid);
	return json_pack("{s:s}", "reference", r);
}

static int add_entry(json_t *entries, const char *uuid, json_t *resource)
{
	if (!resource)
		return HAVEN_ENOMEM;
	char full[64];
	snprintf(full, sizeof(full), "urn:uuid:%s", uuid);
	if (json_object_set_new(resource, "id", json_string(uuid))) {
		json_decref(resource);
		return HAVEN_ENOMEM;
	}
	json_t *e = json_pack("{s:s,s:o}", "fullUrl", full, "resource", resource);
	return e && json_array_append_new(entries, e) == 0 ? 0 : HAVEN_ENOMEM;
}

/* A Coding: LOINC when the code is known, else the instrument's own system
 * (urn:haven:fhir:code:<instrument>) with local_code ("panel", "total" or the item
 * number), so that every concept is coded and a receiver can still tell them apart
 * without Haven guessing a LOINC code. */
static json_t *coding(const struct haven_instrument *in, const char *loinc, const char *local_code,
                      const char *display)
{
	if (loinc)
		return json_pack("{s:s,s:s,s:s}", "system", LOINC, "code", loinc, "display",
		                 display);
	char sys[64];
	snprintf(sys, sizeof(sys), CODE_SYSTEM "%s", in->id);
	return json_pack("{s:s,s:s,s:s}", "system", sys, "code", local_code, "display", display);
}

/* A CodeableConcept: one coding (above) and the text. */
static json_t *concept(const struct haven_instrument *in, const char *loinc, const char *local_code,
                       const char *text)
{
	return json_pack("{s:[o],s:s}", "coding", coding(in, loinc, local_code, text), "text",
	                 text);
}

static json_t *answer_coding(const struct haven_instrument *in, int value)
{
	for (size_t i = 0; i < in->noptions; i++) {
		const struct haven_option *o = &in->options[i];
		if (o->value != value)
			continue;
		if (o->loinc)
			return json_pack("{s:s,s:s,s:s}", "system", LOINC, "code", o->loinc,
			                 "display", o->label);
		char sys[64], code[16];
		snprintf(sys, sizeof(sys), ANSWER_SYSTEM "%s", in->id);
		snprintf(code, sizeof(code), "%d", o->value);
		return json_pack("{s:s,s:s,s:s}", "system", sys, "code", code, "display", o->label);
	}
	return NULL;
}

/* ---- Resources ---- */

static json_t *questionnaire(const struct haven_instrument *in)
{
	char url[96], name[16];
	size_t k = 0;
	snprintf(url, sizeof(url), QUESTIONNAIRE_URL "%s", in->id);
	for (const char *p = in->title; *p && k < sizeof(name) - 1; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			name[k++] = *p;
	name[k] = '\0';
	json_t *items = json_array();
	if (!items)
		return NULL;
	for (size_t i = 0; i < in->nitems; i++) {
		json_t *opts = json_array();
		for (size_t j = 0; opts && j < in->noptions; j++) {
			json_t *c = answer_coding(in, in->options[j].value);
			if (!c ||
			    json_array_append_new(opts, json_pack("{s:o}", "valueCoding", c))) {
				json_decref(opts);
				opts = NULL;
			}
		}
		char link[24];
		snprintf(link, sizeof(link), "%zu", i + 1);
		json_t *it = opts ? json_pack("{s:s,s:s,s:s,s:b,s:o}", "linkId", link, "text",
		                              in->items[i].text, "type", "choice", "required", 1,
		                              "answerOption", opts)
		                  : NULL;
		if (it && json_object_set_new(it, "code",
		                              json_pack("[o]", coding(in, in->items[i].loinc, link,
		                                                      in->items[i].text)))) {
			json_decref(it);
			it = NULL;
		}
		if (!it || json_array_append_new(items, it)) {
			json_decref(items);
			return NULL;
		}
	}
	json_t *total = json_pack("{s:s,s:s,s:s,s:b}", "linkId", "total", "text", "Total score",
	                          "type", "integer", "readOnly", 1);
	if (total && json_object_set_new(
	                 total, "code",
	                 json_pack("[o]", coding(in, in->loinc_total, "total", "Total score")))) {
		json_decref(total);
		total = NULL;
	}
	if (!total || json_array_append_new(items, total)) {
		json_decref(items);
		return NULL;
	}
	json_t *q = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:s,s:s,s:o}", "resourceType",
	                      "Questionnaire", "url", url, "version", "1", "name", name, "title",
	                      in->name, "status", "active", "subjectType", "Patient", "description",
	                      in->stem, "copyright", in->copyright, "item", items);
	if (q && json_object_set_new(
	             q, "code", json_pack("[o]", coding(in, in->loinc_panel, "panel", in->name)))) {
		json_decref(q);
		return NULL;
	}
	return q;
}

static json_t *category(void)
{
	return json_pack("[{s:[{s:s,s:s,s:s}]}]", "coding", "system", OBS_CATEGORY, "code",
	                 "survey", "display", "Survey");
}

static json_t *observation(const char *patient_uuid, const char *qr_uuid, json_t *code,
                           const char *when, int value)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:i,s:[o]}", "resourceType", "Observation",
	                 "status", "final", "category", category(), "code", code, "subject",
	                 ref(patient_uuid), "effectiveDateTime", when, "valueInteger", value,
	                 "derivedFrom", ref(qr_uuid));
}

static int assessment_entries(json_t *entries, const char *pseudonym, const char *patient_uuid,
                              const struct haven_assessment *a)
{
	const struct haven_instrument *in = a->instrument;
	char qr_uuid[37], when[32], url[96], name[48];
	haven_time_format(a->created_at, when);
	snprintf(url, sizeof(url), QUESTIONNAIRE_URL "%s", in->id);
	derived_uuid(pseudonym, "QuestionnaireResponse", a->rid, qr_uuid);

	json_t *items = json_array();
	if (!items)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < a->nanswers; i++) {
		char link[24];
		snprintf(link, sizeof(link), "%zu", i + 1);
		json_t *c = answer_coding(in, a->answers[i]);
		json_t *it = c ? json_pack("{s:s,s:s,s:[{s:o}]}", "linkId", link, "text",
		                           in->items[i].text, "answer", "valueCoding", c)
		               : NULL;
		if (!it || json_array_append_new(items, it)) {
			json_decref(items);
			return HAVEN_ENOMEM;
		}
	}
	if (json_array_append_new(items,
	                          json_pack("{s:s,s:s,s:[{s:i}]}", "linkId", "total", "text",
	                                    "Total score", "answer", "valueInteger", a->total))) {
		json_decref(items);
		return HAVEN_ENOMEM;
	}
	json_t *qr = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o}", "resourceType", "QuestionnaireResponse",
	                       "questionnaire", url, "status", "completed", "subject",
	                       ref(patient_uuid), "authored", when, "item", items);
	int rc = add_entry(entries, qr_uuid, qr);
	if (rc)
		return rc;

	/* Items first, so the total can list them as its members. */
	json_t *members = json_array();
	if (!members)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < a->nanswers && !rc; i++) {
		char obs_uuid[37], key[64];
		snprintf(key, sizeof(key), "%s/item/%zu", a->rid, i + 1);
		derived_uuid(pseudonym, "Observation", key, obs_uuid);
		char link[24];
		snprintf(link, sizeof(link), "%zu", i + 1);
		json_t *o = observation(patient_uuid, qr_uuid,
		                        concept(in, in->items[i].loinc, link, in->items[i].text),
		                        when, a->answers[i]);
		rc = add_entry(entries, obs_uuid, o);
		if (!rc && json_array_append_new(members, ref(obs_uuid)))
			rc = HAVEN_ENOMEM;
	}
	if (rc) {
		json_decref(members);
		return rc;
	}
	char obs_uuid[37], key[64];
	snprintf(key, sizeof(key), "%s/total", a->rid);
	snprintf(name, sizeof(name), "%s total score", in->title);
	derived_uuid(pseudonym, "Observation", key, obs_uuid);
	json_t *o = observation(patient_uuid, qr_uuid, concept(in, in->loinc_total, "total", name),
	                        when, a->total);
	const struct haven_band *b = haven_instrument_band(in, a->total);
	if (o && (json_object_set_new(o, "hasMember", members) ||
	          json_object_set_new(o, "interpretation",
	                              json_pack("[{s:s}]", "text", b ? b->label : "")))) {
		json_decref(o);
		return HAVEN_ENOMEM;
	}
	if (!o)
		json_decref(members);
	return add_entry(entries, obs_uuid, o);
}

int haven_fhir_patient_bundle(struct haven_tx *tx, const struct haven_master_key *mk,
                              int64_t patient_id, json_t **out)
{
	char pseudonym[33], patient_uuid[37], bundle_uuid[37], now[32];
	struct haven_assessment *v = NULL;
	size_t n = 0;
	json_t *entries = NULL;
	*out = NULL;
	int rc = pseudonym_get(tx, patient_id, pseudonym);
	if (!rc)
		rc = haven_assessments_load(tx, mk, patient_id, &v, &n);
	if (rc)
		goto out;
	if (!(entries = json_array())) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	derived_uuid(pseudonym, "Patient", "", patient_uuid);
	haven_time_format(haven_now_ms(), now);
	derived_uuid(pseudonym, "Bundle", now, bundle_uuid);

	json_t *patient = json_pack("{s:s,s:[{s:s,s:s,s:s}],s:b}", "resourceType", "Patient",
	                            "identifier", "use", "secondary", "system",
	                            HAVEN_FHIR_PSEUDONYM_SYSTEM, "value", pseudonym, "active", 1);
	if ((rc = add_entry(entries, patient_uuid, patient)))
		goto out;

	const struct haven_instrument *const *all;
	size_t nall = haven_instruments(&all);
	for (size_t i = 0; i < nall && !rc; i++) {
		int used = 0;
		for (size_t k = 0; k < n && !used; k++)
			used = v[k].instrument == all[i];
		if (!used)
			continue;
		char q_uuid[37];
		derived_uuid(pseudonym, "Questionnaire", all[i]->id, q_uuid);
		rc = add_entry(entries, q_uuid, questionnaire(all[i]));
	}
	for (size_t k = 0; k < n && !rc; k++)
		rc = assessment_entries(entries, pseudonym, patient_uuid, &v[k]);
	if (rc)
		goto out;
	*out = json_pack("{s:s,s:s,s:{s:s},s:s,s:s,s:O}", "resourceType", "Bundle", "id",
	                 bundle_uuid, "meta", "lastUpdated", now, "type", "collection", "timestamp",
	                 now, "entry", entries);
	if (!*out)
		rc = HAVEN_ENOMEM;
out:
	json_decref(entries);
	free(v);
	return rc;
}
