/*
 * migrations.c: the versioned schema. Each migration has the same meaning on both
 * backends, written twice where the dialects differ (keys, byte columns). Migrations
 * are applied in order, each in its own transaction, by haven_store_migrate(); the
 * applied version is kept in schema_migrations. Never edit a migration that has
 * shipped: add a new one.
 *
 * Conventions: times are Unix epoch milliseconds (BIGINT); booleans are 0/1 integers;
 * clinical content is never stored in clear: `payload` columns hold XChaCha20-Poly1305
 * ciphertexts made under the patient's data key (src/crypto), with associated data
 * binding table, rid (a 128-bit record id in hex: time then random, haven_record_id), patient
 * id and field name.
 */
#include "store/store_int.h"

/* Text shared by both dialects; KEY is the generated-key column type, BYTES the bytes type. */
#define M1_TABLES(KEY, BYTES)                                                                      \
	"CREATE TABLE users ("                                                                     \
	"  id " KEY ","                                                                            \
	"  email TEXT NOT NULL UNIQUE,"                                                            \
	"  role TEXT NOT NULL CHECK (role IN ('patient','clinician','admin')),"                   \
	"  password_hash TEXT NOT NULL,"                                                           \
	"  locale TEXT NOT NULL DEFAULT 'en-US',"                                                  \
	"  disabled INTEGER NOT NULL DEFAULT 0,"                                                   \
	"  created_at BIGINT NOT NULL);"                                                           \
	"CREATE TABLE sessions ("                                                                  \
	"  token_hash " BYTES " PRIMARY KEY,"                                                      \
	"  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                        \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  expires_at BIGINT NOT NULL,"                                                            \
	"  revoked INTEGER NOT NULL DEFAULT 0);"                                                   \
	"CREATE INDEX sessions_user ON sessions(user_id);"                                         \
	"CREATE TABLE data_keys ("                                                                 \
	"  patient_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                  \
	"  master_key_id " BYTES " NOT NULL,"                                                      \
	"  wrapped " BYTES " NOT NULL,"                                                            \
	"  created_at BIGINT NOT NULL);"                                                           \
	"CREATE TABLE invitations ("                                                               \
	"  code_hash " BYTES " PRIMARY KEY,"                                                       \
	"  clinician_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                   \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  expires_at BIGINT NOT NULL,"                                                            \
	"  used_by BIGINT REFERENCES users(id) ON DELETE SET NULL,"                                \
	"  used_at BIGINT);"                                                                       \
	"CREATE TABLE care_team ("                                                                 \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  clinician_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                   \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  PRIMARY KEY (patient_id, clinician_id));"                                               \
	"CREATE INDEX care_team_clinician ON care_team(clinician_id);"                             \
	"CREATE TABLE consent_documents ("                                                         \
	"  version INTEGER PRIMARY KEY,"                                                           \
	"  text TEXT NOT NULL,"                                                                    \
	"  published_at BIGINT NOT NULL);"                                                         \
	"CREATE TABLE consents ("                                                                  \
	"  id " KEY ","                                                                            \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  scope TEXT NOT NULL CHECK (scope IN ('care_team','sensing','research')),"              \
	"  granted INTEGER NOT NULL,"                                                              \
	"  document_version INTEGER NOT NULL REFERENCES consent_documents(version),"              \
	"  at BIGINT NOT NULL);"                                                                   \
	"CREATE INDEX consents_patient ON consents(patient_id, scope, id);"                        \
	"CREATE TABLE audit_log ("                                                                 \
	"  id " KEY ","                                                                            \
	"  at BIGINT NOT NULL,"                                                                    \
	"  actor_id BIGINT NOT NULL,"                                                              \
	"  actor_role TEXT NOT NULL,"                                                              \
	"  action TEXT NOT NULL,"                                                                  \
	"  subject TEXT NOT NULL,"                                                                 \
	"  outcome TEXT NOT NULL,"                                                                 \
	"  request_id TEXT NOT NULL,"                                                              \
	"  detail TEXT NOT NULL,"                                                                  \
	"  prev_hash " BYTES " NOT NULL,"                                                          \
	"  hash " BYTES " NOT NULL);"                                                              \
	"CREATE TABLE checkins ("                                                                  \
	"  id " KEY ","                                                                            \
	"  rid TEXT NOT NULL UNIQUE,"                                                              \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  payload " BYTES " NOT NULL);"                                                           \
	"CREATE INDEX checkins_patient ON checkins(patient_id, created_at);"

#define CONSENT_V1                                                                                 \
	"INSERT INTO consent_documents (version, text, published_at) VALUES (1, "                  \
	"'Haven stores what you write and your answers encrypted, under a key that belongs to "    \
	"you alone. With the care_team scope, the clinicians on your care team can read your "     \
	"messages, check-ins and assessment answers; safety events (a crisis in chat, an answer "  \
	"above 0 on the PHQ-9 question about self-harm) always reach them. With the sensing "      \
	"scope, Haven accepts activity and sleep data you send. With the research scope, your "    \
	"data may be used, without your name, to evaluate and improve Haven. You can withdraw "    \
	"any scope at any time, export your data, or erase your account. Haven is not a "          \
	"therapist and not an emergency service.', 0);"

/* Migration 2: the durable alert queue (src/alerts). Reasons are sealed under the
 * patient's data key; kind, severity, status and times stay in clear for the queues. */
#define M2_TABLES(KEY, BYTES)                                                                      \
	"CREATE TABLE alerts ("                                                                    \
	"  id " KEY ","                                                                            \
	"  rid TEXT NOT NULL UNIQUE,"                                                              \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  kind TEXT NOT NULL,"                                                                    \
	"  severity TEXT NOT NULL CHECK (severity IN ('urgent','warning','info')),"               \
	"  status TEXT NOT NULL DEFAULT 'open' "                                                   \
	"    CHECK (status IN ('open','acknowledged','resolved')),"                                \
	"  source TEXT NOT NULL DEFAULT '',"                                                       \
	"  dedup_key TEXT,"                                                                        \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  acknowledged_at BIGINT,"                                                                \
	"  acknowledged_by BIGINT REFERENCES users(id) ON DELETE SET NULL,"                        \
	"  resolved_at BIGINT,"                                                                    \
	"  resolved_by BIGINT REFERENCES users(id) ON DELETE SET NULL,"                            \
	"  escalated_at BIGINT,"                                                                   \
	"  reasons " BYTES " NOT NULL);"                                                           \
	"CREATE INDEX alerts_patient ON alerts(patient_id, created_at);"                           \
	"CREATE INDEX alerts_status ON alerts(status, severity, created_at);"

/* Migration 3: measurement-based care (src/measures, src/fhir). Answers and totals are
 * sealed in assessments.payload; the instrument, time, episode and the safety flag (a
 * PHQ-9 item 9 answer above 0) stay in clear for episodes, consent rules and queues.
 * At most one episode of care per patient is open (closed_at IS NULL). */
#define M3_TABLES(KEY, BYTES)                                                                      \
	"CREATE TABLE episodes ("                                                                  \
	"  id " KEY ","                                                                            \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  opened_at BIGINT NOT NULL,"                                                             \
	"  opened_by BIGINT REFERENCES users(id) ON DELETE SET NULL,"                              \
	"  closed_at BIGINT,"                                                                      \
	"  closed_by BIGINT REFERENCES users(id) ON DELETE SET NULL);"                             \
	"CREATE INDEX episodes_patient ON episodes(patient_id, opened_at);"                        \
	"CREATE UNIQUE INDEX episodes_one_open ON episodes(patient_id) WHERE closed_at IS NULL;"   \
	"CREATE TABLE assessments ("                                                               \
	"  id " KEY ","                                                                            \
	"  rid TEXT NOT NULL UNIQUE,"                                                              \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  episode_id BIGINT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,"                  \
	"  instrument TEXT NOT NULL,"                                                              \
	"  safety INTEGER NOT NULL DEFAULT 0,"                                                     \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  payload " BYTES " NOT NULL);"                                                           \
	"CREATE INDEX assessments_patient ON assessments(patient_id, created_at);"                 \
	"CREATE INDEX assessments_episode ON assessments(episode_id, instrument, created_at);"     \
	"CREATE TABLE reminders ("                                                                 \
	"  patient_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                  \
	"  enabled INTEGER NOT NULL,"                                                              \
	"  minute_of_day INTEGER NOT NULL CHECK (minute_of_day BETWEEN 0 AND 1439),"              \
	"  days INTEGER NOT NULL,"                                                                 \
	"  utc_offset_minutes INTEGER NOT NULL CHECK (utc_offset_minutes BETWEEN -720 AND 840),"  \
	"  updated_at BIGINT NOT NULL);"                                                           \
	"CREATE TABLE fhir_pseudonyms ("                                                           \
	"  patient_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                  \
	"  pseudonym TEXT NOT NULL UNIQUE,"                                                        \
	"  created_at BIGINT NOT NULL);"

/* Migration 5: alert delivery (src/alerts/outbox.c). Every alert event (raised,
 * acknowledged, resolved, escalated) is queued in alert_outbox in the transaction that
 * caused it, and a delivery thread in `haven serve` posts it to the webhook until the
 * receiver answers 2xx. The payload holds no clinical text (ids, kind, severity, status,
 * times), so it is stored in clear. A resolution note is sealed under the patient's key
 * (table "alerts", field "resolution"); escalated_to names where an escalation went. */
#define M5_TABLES(KEY, BYTES)                                                                      \
	"ALTER TABLE alerts ADD COLUMN resolution " BYTES ";"                                      \
	"ALTER TABLE alerts ADD COLUMN escalated_to TEXT;"                                         \
	"CREATE TABLE alert_outbox ("                                                              \
	"  id " KEY ","                                                                            \
	"  alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,"                      \
	"  event TEXT NOT NULL,"                                                                   \
	"  target TEXT NOT NULL CHECK (target IN ('primary','escalation')),"                      \
	"  idempotency_key TEXT NOT NULL UNIQUE,"                                                  \
	"  payload TEXT NOT NULL,"                                                                 \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  attempts INTEGER NOT NULL DEFAULT 0,"                                                   \
	"  next_attempt_at BIGINT NOT NULL,"                                                       \
	"  delivered_at BIGINT,"                                                                   \
	"  last_status INTEGER,"                                                                   \
	"  last_error TEXT);"                                                                      \
	"CREATE INDEX alert_outbox_due ON alert_outbox(delivered_at, next_attempt_at);"            \
	"CREATE INDEX alert_outbox_alert ON alert_outbox(alert_id);"

/* Migration 7: monitoring (src/measures/monitor.c, sensing.c, risk.c). The clinic's
 * monitoring thresholds and risk-model weights are one JSON document (no clinical
 * content, validated by haven_monitor_config_from_json). Sensed observations keep in
 * clear the patient, the kind, the time and its day (for daily features and
 * missing-data flags); the value is sealed under the patient's data key. An observation
 * is identified by (patient, kind, time): a client that sends it again replaces it. */
#define M7_TABLES(KEY, BYTES)                                                                      \
	"CREATE TABLE monitoring_config ("                                                         \
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"                                                 \
	"  config TEXT NOT NULL,"                                                                  \
	"  updated_at BIGINT NOT NULL,"                                                            \
	"  updated_by BIGINT REFERENCES users(id) ON DELETE SET NULL);"                            \
	"CREATE TABLE sensing_observations ("                                                      \
	"  id " KEY ","                                                                            \
	"  rid TEXT NOT NULL UNIQUE,"                                                              \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  kind TEXT NOT NULL CHECK (kind IN "                                                     \
	"    ('steps','sleep_minutes','resting_heart_rate','screen_time_minutes')),"               \
	"  effective_at BIGINT NOT NULL,"                                                          \
	"  day BIGINT NOT NULL,"                                                                   \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  payload " BYTES " NOT NULL,"                                                            \
	"  UNIQUE (patient_id, kind, effective_at));"                                              \
	"CREATE INDEX sensing_patient_day ON sensing_observations(patient_id, day);"
/* Migration 4: the support agent (src/dialog). One conversation state per patient and one
 * row per chat turn, both sealed under the patient's data key (the state holds what the
 * person wrote into an exercise; the message holds their text, the reply and the reasons
 * behind its risk level). The risk level stays in clear so that flagged messages can be
 * listed without opening every row; the safety plan is sealed too. */
#define M4_TABLES(KEY, BYTES)                                                                      \
	"CREATE TABLE conversations ("                                                             \
	"  patient_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                  \
	"  rid TEXT NOT NULL UNIQUE,"                                                              \
	"  turns BIGINT NOT NULL DEFAULT 0,"                                                       \
	"  updated_at BIGINT NOT NULL,"                                                            \
	"  payload " BYTES " NOT NULL);"                                                           \
	"CREATE TABLE messages ("                                                                  \
	"  id " KEY ","                                                                            \
	"  rid TEXT NOT NULL UNIQUE,"                                                              \
	"  patient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  risk_level TEXT NOT NULL CHECK (risk_level IN ('none','low','moderate','high')),"      \
	"  flagged INTEGER NOT NULL DEFAULT 0,"                                                    \
	"  payload " BYTES " NOT NULL);"                                                           \
	"CREATE INDEX messages_patient ON messages(patient_id, id);"                               \
	"CREATE TABLE safety_plans ("                                                              \
	"  patient_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                  \
	"  rid TEXT NOT NULL UNIQUE,"                                                              \
	"  updated_at BIGINT NOT NULL,"                                                            \
	"  payload " BYTES " NOT NULL);"

/* Migration 8: a patient's locale is unset unless chosen. Migration 1 made users.locale
 * NOT NULL DEFAULT 'en-US', and nothing ever set it, so every patient "had" en-US and the
 * deployment's locale (the `locale` option, HAVEN_LOCALE) never applied: a person in the UK
 * was given US crisis numbers. The column is now nullable with no default: NULL means
 * "the deployment's locale". An 'en-US' already stored was always the default, never a
 * choice (no code path wrote the column), so it becomes NULL; on a US deployment that
 * changes nothing, elsewhere it gives the deployment's lines, which is what the operator
 * configured. Any other value was set on purpose (by hand) and is kept. SQLite cannot drop
 * NOT NULL in place (it would need the users table rebuilt, and dropping users would cascade
 * into every table that references it), so a new column takes the place of the old one; the
 * same statements run on both backends, which end with the same schema. */
#define M8_USERS_LOCALE                                                                            \
	"ALTER TABLE users ADD COLUMN chosen_locale TEXT "                                         \
	"  CHECK (chosen_locale IS NULL OR length(chosen_locale) BETWEEN 2 AND 15);"               \
	"UPDATE users SET chosen_locale = locale WHERE locale <> 'en-US' AND locale <> '';"        \
	"ALTER TABLE users DROP COLUMN locale;"                                                    \
	"ALTER TABLE users RENAME COLUMN chosen_locale TO locale;"

/* Migration 9: escalation inside Haven (src/alerts/outbox.c). When an urgent alert is
 * escalated, each of the clinic's escalation contacts (clinician accounts named by
 * `serve --alert-escalation-contact`) gets a row here, in the escalation's transaction:
 * the contact then sees that alert in their inbox and may acknowledge it, without joining
 * the patient's care team. No clinical content. */
#define M9_ALERT_ESCALATIONS                                                                       \
	"CREATE TABLE alert_escalations ("                                                         \
	"  alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,"                      \
	"  clinician_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                   \
	"  escalated_at BIGINT NOT NULL,"                                                          \
	"  PRIMARY KEY (alert_id, clinician_id));"                                                 \
	"CREATE INDEX alert_escalations_clinician ON alert_escalations(clinician_id);"

/* Migration 10: escalation contacts per care team. Each clinician names the colleagues
 * (clinician accounts, not themselves) to whom their patients' urgent alerts escalate
 * when nobody has acknowledged them in time (PUT /api/v1/me/escalation-contacts). An
 * alert escalates to the contacts named by the clinicians of that patient's care team,
 * and only when they named none to the clinic's (`serve --alert-escalation-contact`),
 * so a clinician outside the team is told only when the team chose them or named
 * nobody (src/alerts/outbox.c). */
#define M10_ESCALATION_CONTACTS                                                                    \
	"CREATE TABLE escalation_contacts ("                                                       \
	"  clinician_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                   \
	"  contact_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
	"  created_at BIGINT NOT NULL,"                                                            \
	"  PRIMARY KEY (clinician_id, contact_id),"                                                \
	"  CHECK (clinician_id <> contact_id));"                                                   \
	"CREATE INDEX escalation_contacts_contact ON escalation_contacts(contact_id);"

/* PostgreSQL: a notice on channel haven_auth with every change of sessions or accounts,
 * so that servers may keep session lookups in memory (store.h, haven_store_auth_epoch).
 * The payload is the table's schema (one PostgreSQL database may hold several Haven
 * databases, a schema each). Per statement: a sweep of many rows is one notice. */
#define M11_AUTH_NOTICES_PG                                                                        \
	"CREATE FUNCTION haven_auth_notice() RETURNS trigger LANGUAGE plpgsql AS $$ "              \
	"BEGIN PERFORM pg_notify('haven_auth', TG_TABLE_SCHEMA); RETURN NULL; END $$;"               \
	"CREATE TRIGGER sessions_auth_notice AFTER UPDATE OR DELETE OR TRUNCATE ON sessions "       \
	"FOR EACH STATEMENT EXECUTE FUNCTION haven_auth_notice();"                                 \
	"CREATE TRIGGER users_auth_notice AFTER UPDATE OR DELETE OR TRUNCATE ON users "             \
	"FOR EACH STATEMENT EXECUTE FUNCTION haven_auth_notice();"

static const struct haven__migration migrations[] = {
	{
		.version = 1,
		.name = "core: accounts, sessions, keys, invitations, care teams, consent, audit, "
			"check-ins",
		.sqlite = M1_TABLES("INTEGER PRIMARY KEY", "BLOB") CONSENT_V1,
		.pg = M1_TABLES("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA")
			CONSENT_V1,
	},
	{
		.version = 2,
		.name = "alerts: the durable alert queue",
		.sqlite = M2_TABLES("INTEGER PRIMARY KEY", "BLOB"),
		.pg = M2_TABLES("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
	},
	{
		.version = 3,
		.name = "measures: assessments, episodes of care, reminders, FHIR pseudonyms",
		.sqlite = M3_TABLES("INTEGER PRIMARY KEY", "BLOB"),
		.pg = M3_TABLES("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
	},
	{
		.version = 4,
		.name = "dialog: conversations, messages, safety plans",
		.sqlite = M4_TABLES("INTEGER PRIMARY KEY", "BLOB"),
		.pg = M4_TABLES("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
	},
	{
		.version = 5,
		.name = "alerts: delivery outbox, resolution notes, escalation target",
		.sqlite = M5_TABLES("INTEGER PRIMARY KEY", "BLOB"),
		.pg = M5_TABLES("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
	},
	{
		.version = 7,
		.name = "monitoring: clinic thresholds, sensed observations",
		.sqlite = M7_TABLES("INTEGER PRIMARY KEY", "BLOB"),
		.pg = M7_TABLES("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
	},
	{
		.version = 8,
		.name = "users: a patient's locale is unset (NULL) unless chosen",
		.sqlite = M8_USERS_LOCALE,
		.pg = M8_USERS_LOCALE,
	},
	{
		.version = 9,
		.name = "alerts: escalation contacts inside Haven",
		.sqlite = M9_ALERT_ESCALATIONS,
		.pg = M9_ALERT_ESCALATIONS,
	},
	{
		.version = 10,
		.name = "alerts: escalation contacts per care team",
		.sqlite = M10_ESCALATION_CONTACTS,
		.pg = M10_ESCALATION_CONTACTS,
	},
	{
		.version = 11,
		.name = "sessions: PostgreSQL announces changes of sessions and accounts",
		/* SQLite servers keep no session lookups: nothing to announce */
		.sqlite = "-- nothing",
		.pg = M11_AUTH_NOTICES_PG,
	},
};

const struct haven__migration *haven__migrations(size_t *count)
{
	*count = sizeof(migrations) / sizeof(migrations[0]);
	return migrations;
}

int haven_store_latest_version(void)
{
	size_t n;
	const struct haven__migration *m = haven__migrations(&n);
	return n ? m[n - 1].version : 0;
}
