/*
 * router.c: the router table. Every route the server answers is one line here: method,
 * path pattern ("{id}" matches a positive decimal id), the role it requires, the handler
 * and the body schema. docs/openapi.yaml describes the same list, and a test
 * (tests/api/test_openapi.c) checks the two agree; the authorisation matrix test walks
 * every line. Later features add lines here and handlers elsewhere.
 */
#include <string.h>

#include "api/api_int.h"

#define V1 "/api/v1"

static const struct haven_route routes[] = {
    /* operations, no token; also under /api/v1 for clients that only know the prefix */
    {"GET", "/healthz", HAVEN_ROLE_NONE, haven__h_healthz, NULL},
    {"GET", "/readyz", HAVEN_ROLE_NONE, haven__h_readyz, NULL},
    {"GET", "/metrics", HAVEN_ROLE_NONE, haven__h_metrics, NULL},
    {"GET", V1 "/healthz", HAVEN_ROLE_NONE, haven__h_healthz, NULL},
    {"GET", V1 "/readyz", HAVEN_ROLE_NONE, haven__h_readyz, NULL},
    {"GET", V1 "/metrics", HAVEN_ROLE_NONE, haven__h_metrics, NULL},
    /* authentication */
    {"POST", V1 "/auth/login", HAVEN_ROLE_NONE, haven__h_login, &haven__login_schema},
    {"POST", V1 "/auth/logout", HAVEN_ROLE_ANY, haven__h_logout, NULL},
    {"POST", V1 "/auth/register", HAVEN_ROLE_NONE, haven__h_register, &haven__register_schema},
    {"GET", V1 "/me", HAVEN_ROLE_ANY, haven__h_me, NULL},
    /* a patient's own locale for crisis lines; the GET /me handler answers it too */
    {"PATCH", V1 "/me", HAVEN_ROLE_PATIENT, haven__h_me, NULL},
    {"GET", V1 "/consent/document", HAVEN_ROLE_NONE, haven__h_consent_document, NULL},
    /* administrators */
    {"POST", V1 "/users", HAVEN_ROLE_ADMIN, haven__h_users_create, &haven__user_create_schema},
    {"GET", V1 "/users", HAVEN_ROLE_ADMIN, haven__h_users_list, NULL},
    {"GET", V1 "/audit", HAVEN_ROLE_ADMIN, haven__h_audit_list, NULL},
    {"GET", V1 "/audit/verify", HAVEN_ROLE_ADMIN, haven__h_audit_verify, NULL},
    /* clinicians */
    {"POST", V1 "/invitations", HAVEN_ROLE_CLINICIAN, haven__h_invitations_create, NULL},
    {"GET", V1 "/patients", HAVEN_ROLE_CLINICIAN, haven__h_patients_list, NULL},
    {"GET", V1 "/patients/{id}", HAVEN_ROLE_CLINICIAN, haven__h_patient_get, NULL},
    {"GET", V1 "/patients/{id}/checkins", HAVEN_ROLE_CLINICIAN, haven__h_patient_checkins, NULL},
    {"GET", V1 "/patients/{id}/messages", HAVEN_ROLE_CLINICIAN, haven__h_patient_messages, NULL},
    {"GET", V1 "/patients/{id}/safety-plan", HAVEN_ROLE_CLINICIAN, haven__h_patient_safety_plan,
     NULL},
    /* patients */
    {"GET", V1 "/me/consents", HAVEN_ROLE_PATIENT, haven__h_consents_get, NULL},
    {"PUT", V1 "/me/consents", HAVEN_ROLE_PATIENT, haven__h_consents_put, &haven__consents_schema},
    {"POST", V1 "/checkins", HAVEN_ROLE_PATIENT, haven__h_checkins_create, &haven__checkin_schema},
    {"GET", V1 "/checkins", HAVEN_ROLE_PATIENT, haven__h_checkins_list, NULL},
    {"GET", V1 "/me/export", HAVEN_ROLE_PATIENT, haven__h_export, NULL},
    {"DELETE", V1 "/me", HAVEN_ROLE_PATIENT, haven__h_erase, NULL},
    {"POST", V1 "/chat/messages", HAVEN_ROLE_PATIENT, haven__h_chat_post, &haven__chat_schema},
    {"GET", V1 "/chat/messages", HAVEN_ROLE_PATIENT, haven__h_chat_list, NULL},
    {"GET", V1 "/me/safety-plan", HAVEN_ROLE_PATIENT, haven__h_safety_plan_get, NULL},
    {"PUT", V1 "/me/safety-plan", HAVEN_ROLE_PATIENT, haven__h_safety_plan_put, NULL},
    {"GET", V1 "/exercises", HAVEN_ROLE_PATIENT, haven__h_exercises, NULL},
    /* measurement-based care (measures.c); the assessment and reminder bodies hold
     * arrays and are decoded by their handlers */
    {"GET", V1 "/instruments", HAVEN_ROLE_ANY, haven__h_instruments, NULL},
    {"POST", V1 "/assessments", HAVEN_ROLE_PATIENT, haven__h_assessments_create, NULL},
    {"GET", V1 "/assessments", HAVEN_ROLE_PATIENT, haven__h_assessments_list, NULL},
    {"GET", V1 "/me/reminders", HAVEN_ROLE_PATIENT, haven__h_reminders_get, NULL},
    {"PUT", V1 "/me/reminders", HAVEN_ROLE_PATIENT, haven__h_reminders_put, NULL},
    {"GET", V1 "/patients/{id}/assessments", HAVEN_ROLE_CLINICIAN, haven__h_patient_assessments,
     NULL},
    {"POST", V1 "/patients/{id}/episodes", HAVEN_ROLE_CLINICIAN, haven__h_episode_open, NULL},
    {"POST", V1 "/patients/{id}/episodes/close", HAVEN_ROLE_CLINICIAN, haven__h_episode_close,
     NULL},
    {"GET", V1 "/patients/{id}/outcomes", HAVEN_ROLE_CLINICIAN, haven__h_patient_outcomes, NULL},
    {"GET", V1 "/patients/{id}/reminders", HAVEN_ROLE_CLINICIAN, haven__h_patient_reminders,
     NULL},
    {"GET", V1 "/patients/{id}/fhir", HAVEN_ROLE_CLINICIAN, haven__h_patient_fhir, NULL},
    {"GET", V1 "/outcomes", HAVEN_ROLE_CLINICIAN, haven__h_caseload_outcomes, NULL},
    /* monitoring (monitoring.c); the sensing body may be a FHIR resource, decoded by
     * its handler */
    {"POST", V1 "/sensing", HAVEN_ROLE_PATIENT, haven__h_sensing_create, NULL},
    {"GET", V1 "/me/sensing", HAVEN_ROLE_PATIENT, haven__h_sensing_own, NULL},
    {"GET", V1 "/patients/{id}/sensing", HAVEN_ROLE_CLINICIAN, haven__h_patient_sensing, NULL},
    {"GET", V1 "/patients/{id}/risk", HAVEN_ROLE_CLINICIAN, haven__h_patient_risk, NULL},
    {"GET", V1 "/monitoring/config", HAVEN_ROLE_ADMIN, haven__h_monitoring_config_get, NULL},
    {"PUT", V1 "/monitoring/config", HAVEN_ROLE_ADMIN, haven__h_monitoring_config_put, NULL},
    /* alerts of the caseload (alerts.c) */
    {"GET", V1 "/alerts", HAVEN_ROLE_CLINICIAN, haven__h_alerts_list, NULL},
    {"GET", V1 "/alerts/{id}", HAVEN_ROLE_CLINICIAN, haven__h_alert_get, NULL},
    {"POST", V1 "/alerts/{id}/ack", HAVEN_ROLE_CLINICIAN, haven__h_alert_ack, NULL},
    {"POST", V1 "/alerts/{id}/resolve", HAVEN_ROLE_CLINICIAN, haven__h_alert_resolve,
     &haven__alert_resolve_schema},
    {"GET", V1 "/me/escalation-contacts", HAVEN_ROLE_CLINICIAN, haven__h_escalation_contacts_get,
     NULL},
    {"PUT", V1 "/me/escalation-contacts", HAVEN_ROLE_CLINICIAN, haven__h_escalation_contacts_put,
     NULL},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static struct haven_route_info infos[NROUTES];
static pthread_once_t infos_once = PTHREAD_ONCE_INIT;

static void fill_infos(void)
{
	for (size_t i = 0; i < NROUTES; i++)
		infos[i] =
		    (struct haven_route_info){routes[i].method, routes[i].pattern, routes[i].role};
}

size_t haven_api_routes(const struct haven_route_info **out)
{
	pthread_once(&infos_once, fill_infos);
	*out = infos;
	return NROUTES;
}

const struct haven_route *haven__routes(size_t *count)
{
	*count = NROUTES;
	return routes;
}

/* Matches path against pattern; "{id}" takes a run of 1-18 digits (no sign, no leading
 * zero) so that ids always fit in int64_t. */
static int path_matches(const char *pattern, const char *path, int64_t *id, int *has_id)
{
	const char *p = pattern, *s = path;
	while (*p) {
		if (!strncmp(p, "{id}", 4)) {
			const char *start = s;
			int64_t v = 0;
			while (*s >= '0' && *s <= '9' && s - start < 18)
				v = v * 10 + (*s++ - '0');
			if (s == start || (*start == '0') || (*s >= '0' && *s <= '9'))
				return 0;
			*id = v;
			*has_id = 1;
			p += 4;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *s == '\0';
}

const struct haven_route *haven__route_match(const char *method, const char *path, int *index,
                                             int64_t *id, int *has_id, int *method_mismatch)
{
	*index = -1;
	*method_mismatch = 0;
	for (size_t i = 0; i < NROUTES; i++) {
		int64_t v = 0;
		int h = 0;
		if (!path_matches(routes[i].pattern, path, &v, &h))
			continue;
		if (strcmp(routes[i].method, method)) {
			*method_mismatch = 1;
			continue;
		}
		*index = (int)i;
		*id = v;
		*has_id = h;
		return &routes[i];
	}
	return NULL;
}
