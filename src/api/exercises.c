/*
 * exercises.c: GET /api/v1/exercises, the patient's own exercises page. Lists what the
 * agent offers (the flows the content marks `menu`, in the content's order), each with a
 * short plain description, what the person says in chat to start it, and for the rated
 * exercises (`exercise NAME HELPED NOT` in the flow file) the person's own before/after
 * ratings, read from the "exercise_rated" actions of their chat messages (whose "helped"
 * says whether it helped: lower after than before, or higher for mood). It also names
 * the exercise to try next and why, by the recommender's rule (src/dialog/engine.c,
 * recommend()): when something has helped this person more often than not, only those
 * exercises are considered; each exercise's chance of helping is Beta(prior + own
 * outcomes). The chat draws from that belief (Thompson sampling) so it explores; this page
 * shows the exercise with the best expected chance (ties: the content's order), so that
 * the suggestion does not change on every reload. The reason uses the chat's wording.
 *
 * What the page says about each flow (its kind, description, the sentence that starts it
 * and what its ratings measure) is content: content/exercises.txt, loaded and checked
 * against the flows with them (src/dialog/exercise_texts.c), so every flow listed here has
 * one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "dialog/dialog.h"

/* The person's ratings of one exercise, oldest first, and how often it helped (a rating
 * after lower than before, as the engine counts it). */
struct own {
	json_t *ratings;
	json_int_t helped, not_helped;
};

struct exercises_op {
	struct haven_req *r;
	json_t *messages;
};

static int exercises_tx(struct haven_tx *tx, void *arg)
{
	struct exercises_op *op = arg;
	int rc = haven_chat_history(tx, op->r->api->mk, op->r->who.id, 0, SIZE_MAX, &op->messages);
	if (rc == HAVEN_ENOTFOUND)
		rc = (op->messages = json_array()) ? 0 : HAVEN_ENOMEM;
	if (rc)
		return rc;
	char subject[48], detail[32];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->r->who.id);
	snprintf(detail, sizeof(detail), "messages=%zu", json_array_size(op->messages));
	return haven__audit(tx, op->r, "exercise.read", subject, "ok", detail);
}

/* Adds each "exercise_rated" action of the messages to the exercise it names. */
static int collect_ratings(json_t *messages, const struct haven_content *c, struct own *own)
{
	size_t i, j;
	json_t *m, *a;
	json_array_foreach(messages, i, m)
	{
		json_array_foreach(json_object_get(m, "actions"), j, a)
		{
			const char *type = json_string_value(json_object_get(a, "type"));
			const char *ex = json_string_value(json_object_get(a, "exercise"));
			json_t *before = json_object_get(a, "before"), *after = json_object_get(a, "after");
			if (!type || strcmp(type, "exercise_rated") || !ex || !json_is_integer(before) ||
			    !json_is_integer(after))
				continue;
			for (size_t k = 0; k < c->nflows; k++) {
				if (!c->flows[k].exercise || strcmp(c->flows[k].exercise, ex))
					continue;
				/* The engine says whether it helped (lower after than before, or
				 * higher for an exercise rated as mood); older turns without the
				 * flag are judged the engine's default way. */
				json_t *flag = json_object_get(a, "helped");
				int helped = json_is_boolean(flag)
				                 ? json_is_true(flag)
				                 : json_integer_value(after) < json_integer_value(before);
				json_t *r = json_pack("{s:O,s:O,s:O,s:b}", "at",
				                      json_object_get(m, "created_at"), "before", before,
				                      "after", after, "helped", helped);
				if (!r || json_array_append_new(own[k].ratings, r))
					return HAVEN_ENOMEM;
				if (helped)
					own[k].helped++;
				else
					own[k].not_helped++;
				break;
			}
		}
	}
	return 0;
}

static void lower_first(const char *title, char *out, size_t n)
{
	haven_strlcpy(out, title, n);
	if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
		out[0] = (char)(out[0] - 'A' + 'a');
}

/* The exercise to try next and why (see the top of the file), or JSON null. */
static json_t *recommendation(const struct haven_content *c, const struct own *own)
{
	int own_only = 0;
	for (size_t i = 0; i < c->nflows; i++)
		if (c->flows[i].exercise && own[i].helped > own[i].not_helped)
			own_only = 1;
	int best = -1;
	double best_mean = -1;
	for (size_t i = 0; i < c->nflows; i++) {
		const struct haven_flow *f = &c->flows[i];
		if (!f->exercise || (own_only && own[i].helped <= own[i].not_helped))
			continue;
		double a = f->prior_helped + (double)own[i].helped;
		double b = f->prior_not + (double)own[i].not_helped;
		double mean = a + b > 0 ? a / (a + b) : 0;
		if (mean > best_mean) {
			best_mean = mean;
			best = (int)i;
		}
	}
	if (best < 0)
		return json_null();
	const struct haven_flow *f = &c->flows[best];
	const struct own *o = &own[best];
	char reason[240], lower[96];
	size_t n = json_array_size(o->ratings);
	json_t *last = n ? json_array_get(o->ratings, n - 1) : NULL;
	json_int_t before = json_integer_value(json_object_get(last, "before"));
	json_int_t after = json_integer_value(json_object_get(last, "after"));
	lower_first(f->title, lower, sizeof(lower));
	if (last && json_is_true(json_object_get(last, "helped")))
		snprintf(reason, sizeof(reason), "%s helped you last time: %lld \xe2\x86\x92 %lld.",
		         f->title, (long long)before, (long long)after);
	else if (n)
		snprintf(reason, sizeof(reason), "%s helped you %lld of the %zu times you rated it.",
		         f->title, (long long)o->helped, n);
	else
		snprintf(reason, sizeof(reason),
		         "You haven't tried %s with me yet, and many people find it helps.", lower);
	return json_pack("{s:s,s:s,s:s,s:f}", "name", f->name, "title", f->title, "reason", reason,
	                 "expected_chance", best_mean);
}

static json_t *exercise_json(const struct haven_exercise_texts *texts, const struct haven_flow *f,
                             const struct own *o)
{
	const struct haven_exercise_text *t = haven_exercise_text_of(texts, f->name);
	json_t *e = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:b}", "name", f->name, "title", f->title,
	                      "kind", t ? t->kind : "exercise", "description",
	                      t ? t->description : NULL, "start_text", t ? t->start : f->title,
	                      "rated", f->exercise != NULL);
	if (!e)
		return NULL;
	json_t *hist = f->exercise
	                   ? json_pack("{s:s?,s:I,s:I,s:O}", "rating", t ? t->rating : NULL, "helped",
	                               o->helped, "not_helped", o->not_helped, "ratings", o->ratings)
	                   : json_null();
	if (!hist || json_object_set_new(e, "history", hist)) {
		json_decref(e);
		return NULL;
	}
	return e;
}

void haven__h_exercises(struct haven_req *r)
{
	const struct haven_dialog *d = haven__chat_dialog(r->api->chat);
	const struct haven_content *c = haven_dialog_content(d);
	const struct haven_exercise_texts *texts = haven_dialog_exercise_texts(d);
	struct exercises_op op = {.r = r};
	struct own *own = haven_calloc(c->nflows ? c->nflows : 1, sizeof(*own));
	json_t *list = json_array(), *reply = NULL;
	int rc = own && list ? 0 : HAVEN_ENOMEM;
	for (size_t i = 0; i < c->nflows && !rc; i++)
		if (!(own[i].ratings = json_array()))
			rc = HAVEN_ENOMEM;
	if (!rc)
		rc = haven_store_write(r->api->store, exercises_tx, &op);
	if (!rc)
		rc = collect_ratings(op.messages, c, own);
	for (size_t i = 0; i < c->nflows && !rc; i++) {
		if (!c->flows[i].menu)
			continue;
		json_t *e = exercise_json(texts, &c->flows[i], &own[i]);
		if (!e || json_array_append_new(list, e))
			rc = HAVEN_ENOMEM;
	}
	if (!rc) {
		json_t *rec = recommendation(c, own);
		reply = rec ? json_pack("{s:O,s:o,s:s}", "exercises", list, "recommended", rec,
		                        "content_version", c->version)
		            : NULL;
		if (!reply)
			rc = HAVEN_ENOMEM;
	}
	for (size_t i = 0; own && i < c->nflows; i++)
		json_decref(own[i].ratings);
	free(own);
	json_decref(list);
	json_decref(op.messages);
	if (rc) {
		haven_reply_err(r, rc, "reading your exercises");
		return;
	}
	haven_reply_json(r, 200, reply);
}
