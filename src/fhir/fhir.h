/*
 * fhir.h: the FHIR R4 export of a patient's measures, as a Bundle of type "collection":
 *  - one pseudonymous Patient (no name, no email: only an identifier in the system
 *    urn:haven:pseudonym, a random value bound to the patient's id in Haven's database);
 *  - one Questionnaire per instrument used (items, answer options, LOINC codes);
 *  - per assessment, a QuestionnaireResponse (status completed) and Observations
 *    (category survey, status final, valueInteger): the total, coded with its LOINC
 *    code (PHQ-9 44261-6, GAD-7 70274-6), and each item, coded with its LOINC question
 *    code (PHQ-9 item 9: 44260-8). A concept whose LOINC code Haven could not confirm
 *    (GAD-2's panel and total, all of WHO-5) is coded in the instrument's own system
 *    (HAVEN_FHIR_CODE_SYSTEM) with its text, never with a guessed LOINC code.
 * Entries have fullUrl "urn:uuid:<uuid>" and reference each other by those URNs; the
 * UUIDs are derived from the pseudonym and record ids, so exporting twice gives the same
 * identities. docs/measures.md shows the mapping.
 *
 * Ownership: *out is owned by the caller (json_decref).
 */
#ifndef HAVEN_FHIR_H
#define HAVEN_FHIR_H

#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define HAVEN_FHIR_PSEUDONYM_SYSTEM "urn:haven:pseudonym"
/* The code system of a concept with no confirmed LOINC code: "urn:haven:fhir:code:" and
 * the instrument id (gad2, who5), with the codes "panel", "total" and the item numbers
 * "1".."n". */
#define HAVEN_FHIR_CODE_SYSTEM "urn:haven:fhir:code:"

/* Builds the Bundle inside tx (which must allow writes: the pseudonym is created on
 * first use). HAVEN_ENOTFOUND when there is no such patient. */
int haven_fhir_patient_bundle(struct haven_tx *tx, const struct haven_master_key *mk,
                              int64_t patient_id, json_t **out) HAVEN_WUR;

#endif
