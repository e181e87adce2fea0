"""The click-day submit, set-based: a batch of prepared drafts submitted with a handful of statements.

``calls_submit_prepared_batch`` replaces the function of ``0005`` that ran ``calls_submit_prepared``
once per request, each in its own subtransaction (five statements and a subtransaction per submit).
Now a whole batch, one request or thirty-two, costs the same five statements:

1. the requests' applications are locked in id order (concurrent batches never deadlock) and each
   request is judged: who asks (an active user's API token, or the user the caller authenticated),
   acting for the organization, a draft not yet submitted (the first request of the batch for it), a
   prepared submission whose answers, declarations and organization profile are those of now, a
   published call, an idempotency key not used before by the user. A request that fails gets its
   outcome (``refused``, ``state``, ``unprepared``, ``changed``, ``call``, ``key``) and nothing is
   written for it: ``calls.domain.application_submit`` answers it, with its reasons;
2. the protocol counters of the calls concerned are locked, last (in call order);
3. the receipt instant is read after the locks: the requests whose call is not open at that instant,
   or whose prepared eligibility does not hold on that day, get ``error MFS01`` and no number;
4. one statement numbers the rest in arrival order and writes what ``calls.domain._submit`` writes
   (the submissions, the applications, their action log entries, the receipt emails in the outbox),
   moves the counters and returns every request's outcome with its receipt.

The batch shares one receipt instant per call: the submissions were numbered together at it. The
statement commits on its own, so the counters are held only inside the database, from their lock to
the commit, never across a round trip to Python. ``calls.submit_fast`` is the caller (a single request
is a batch of one); ``tests/calls/test_submit_fast.py`` checks it writes what the domain function writes.
"""

import importlib

from django.db import migrations

REQUEST_TYPE = r"""
CREATE TYPE calls_submit_request AS (
    i integer, application bigint, idempotency_key text, repr text, outcome text,
    user_id bigint, email text, language text, call_id bigint, call_code text, selection_mode text,
    opens_at timestamptz, closes_at timestamptz, legal_name text, prepared jsonb
);
"""

BATCH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION calls_submit_prepared_batch(
    p_requests jsonb,           -- [{"i", "token", "user", "application", "key", "repr"}, ...] in arrival order
    p_frozen timestamptz,       -- the frozen clock of tests and demos, else NULL
    p_time_zone text,           -- the programme's time zone (days of the eligibility range)
    p_subjects jsonb,           -- the receipt email subject by language
    p_default_language text,
    p_email_template text,
    p_email_context text,       -- JSON with "__submission_id__" where the submission id goes
    p_email_attachments text    -- idem
) RETURNS TABLE (
    idx integer, outcome text, submission_id bigint, protocol integer, received_at timestamptz, digest text,
    needs_review boolean, "position" integer, call_code text, email_id bigint
) LANGUAGE plpgsql
-- Every row is reached by its key, a few dozen at a time: the planner cannot know how many requests
-- the JSON holds (it guesses 100) and would hash whole tables of users and memberships instead.
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $fn$
DECLARE
    v_requests calls_submit_request[];
    v_now timestamptz;
BEGIN
    -- 1. Lock the applications asked for, in id order, then judge each request on what is committed now:
    --    who asks, for which application, and may it be submitted as prepared?
    PERFORM 1 FROM calls_application a
      WHERE a.id IN (SELECT (e.value ->> 'application')::bigint FROM jsonb_array_elements(p_requests) e)
      ORDER BY a.id FOR UPDATE;
    SELECT array_agg(ROW(
               j.i, j.application, j.key, j.repr,
               CASE
                   WHEN j.user_id IS NULL OR NOT j.member THEN 'refused'
                   WHEN j.status NOT IN ('draft', 'withdrawn') OR j.current_submission_id IS NOT NULL
                        OR j.application_rank > 1 THEN 'state'
                   WHEN j.prepared IS NULL THEN 'unprepared'
                   WHEN j.prepared -> 'answers' IS DISTINCT FROM j.answers
                        OR j.prepared -> 'declarations' IS DISTINCT FROM j.accepted_declarations
                        OR j.prepared -> 'snapshot' -> 'organization' IS DISTINCT FROM j.organization THEN 'changed'
                   WHEN j.call_status <> 'published' THEN 'call'
                   WHEN j.key IS NOT NULL AND (j.key_used OR j.key_rank > 1) THEN 'key'
               END,
               j.user_id, j.email, j.language, j.call_id, j.code, j.selection_mode, j.opens_at, j.closes_at,
               j.legal_name, j.prepared
           )::calls_submit_request ORDER BY j.i)
      INTO v_requests
      FROM (
        SELECT r.i, r.application, r.key, r.repr, a.status, a.current_submission_id, a.prepared, a.answers,
               a.accepted_declarations, a.call_id, c.code, c.status AS call_status, c.opens_at, c.closes_at,
               c.selection_mode, o.legal_name, u.id AS user_id, u.email,
               -- a second request of the batch for one application, or with one key, is left to the full path
               row_number() OVER (PARTITION BY r.application ORDER BY r.i) AS application_rank,
               row_number() OVER (PARTITION BY u.id, r.key ORDER BY r.i) AS key_rank,
               COALESCE(NULLIF(u.language, ''), p_default_language) AS language,
               m.id IS NOT NULL AS member,
               r.key IS NOT NULL AND EXISTS (SELECT 1 FROM calls_submission s
                        WHERE s.submitted_by_id = u.id AND s.idempotency_key = r.key) AS key_used,
               jsonb_build_object(
                   'id', o.id, 'legal_name', o.legal_name, 'kind', o.kind, 'vat_number', o.vat_number,
                   'tax_code', o.tax_code, 'address', o.address, 'city', o.city,
                   'operating_address', o.operating_address, 'operating_city', o.operating_city,
                   'founded_on', to_char(o.founded_on, 'YYYY-MM-DD'), 'ateco_code', o.ateco_code
               ) AS organization
          FROM jsonb_to_recordset(p_requests)
               AS r(i integer, token text, "user" bigint, application bigint, key text, repr text)
          LEFT JOIN calls_application a ON a.id = r.application
          LEFT JOIN calls_call c ON c.id = a.call_id
          LEFT JOIN accounts_organization o ON o.id = a.organization_id
          LEFT JOIN accounts_user u
                 ON u.id = COALESCE(r."user", (SELECT t.user_id FROM authtoken_token t WHERE t.key = r.token))
                AND u.is_active
          LEFT JOIN accounts_membership m ON m.organization_id = a.organization_id AND m.user_id = u.id
      ) j;

    IF NOT EXISTS (SELECT 1 FROM unnest(v_requests) r WHERE r.outcome IS NULL) THEN
        RETURN QUERY SELECT r.i, r.outcome, NULL::bigint, NULL::integer, NULL::timestamptz, NULL::text,
                            NULL::boolean, NULL::integer, NULL::text, NULL::bigint
                       FROM unnest(v_requests) r ORDER BY r.i;
        RETURN;
    END IF;
    -- 2. Last, the protocol counters of the calls concerned (in call order), and the receipt instant.
    PERFORM 1 FROM calls_protocolcounter pc
      WHERE pc.call_id IN (SELECT r.call_id FROM unnest(v_requests) r WHERE r.outcome IS NULL)
      ORDER BY pc.call_id FOR UPDATE;
    v_now := COALESCE(p_frozen, clock_timestamp());

    -- 3 and 4. Number the requests whose call is open now and whose eligibility holds today, in arrival
    -- order, and write what application_submit writes. (Data-modifying CTEs all run, referenced or not.)
    RETURN QUERY
    WITH requests AS (
        SELECT r.* FROM unnest(v_requests) r
    ), accepted AS MATERIALIZED (
        SELECT r.*, pc.last_number + row_number() OVER (PARTITION BY r.call_id ORDER BY r.i) AS number
          FROM requests r
          JOIN calls_protocolcounter pc ON pc.call_id = r.call_id
         WHERE r.outcome IS NULL AND v_now >= r.opens_at AND v_now < r.closes_at
           AND (v_now AT TIME ZONE p_time_zone)::date >= (r.prepared ->> 'valid_from')::date
           AND (v_now AT TIME ZONE p_time_zone)::date < COALESCE((r.prepared ->> 'valid_until')::date, 'infinity')
    ), numbered AS MATERIALIZED (
        SELECT a.*, nextval(pg_get_serial_sequence('calls_submission', 'id')) AS new_submission,
               CASE WHEN COALESCE(a.email, '') <> ''
                    THEN nextval(pg_get_serial_sequence('core_outboxemail', 'id')) END AS new_email
          FROM (SELECT * FROM accepted ORDER BY call_id, number) a
    ), counters AS (
        UPDATE calls_protocolcounter pc SET last_number = n.last
          FROM (SELECT call_id, max(number) AS last FROM numbered GROUP BY call_id) n
         WHERE pc.call_id = n.call_id
    ), applications AS (
        UPDATE calls_application a SET status = 'submitted', current_submission_id = n.new_submission
          FROM numbered n WHERE a.id = n.application
    ), entries AS (
        INSERT INTO core_actionlog (created_at, actor_id, verb, object_type, object_id, object_repr, data,
                                    chain_seq, prev_hash, hash)
        SELECT v_now, n.user_id, 'application.submit', 'calls.application', n.application::text,
               left(format(n.repr, n.legal_name, n.call_code), 300),
               jsonb_build_object('submission', n.new_submission, 'digest', n.prepared ->> 'digest'), NULL, '', ''
          FROM numbered n ORDER BY n.i
    ), emails AS (
        INSERT INTO core_outboxemail (id, created_at, "to", subject, template, context, language, attachments,
                                      status, attempts, sent_at, last_error)
        SELECT n.new_email, clock_timestamp(), jsonb_build_array(n.email),
               left(COALESCE(p_subjects ->> n.language, p_subjects ->> p_default_language), 250), p_email_template,
               replace(p_email_context, '"__submission_id__"', n.new_submission::text)::jsonb, n.language,
               replace(p_email_attachments, '"__submission_id__"', n.new_submission::text)::jsonb,
               'pending', 0, NULL, ''
          FROM numbered n WHERE n.new_email IS NOT NULL ORDER BY n.i
    ), submissions AS (
        INSERT INTO calls_submission (id, application_id, call_id, protocol, received_at, snapshot, digest,
                                      requested_amount, eligibility, needs_review, submitted_by_id,
                                      idempotency_key, withdrawn_at, withdrawn_by_id)
        SELECT n.new_submission, n.application, n.call_id, n.number, v_now, n.prepared -> 'snapshot',
               n.prepared ->> 'digest', (n.prepared ->> 'requested_amount')::numeric, n.prepared -> 'eligibility',
               (n.prepared ->> 'needs_review')::boolean, n.user_id, n.idempotency_key, NULL, NULL
          FROM numbered n ORDER BY n.call_id, n.number
    )
    SELECT r.i,
           COALESCE(r.outcome, CASE WHEN n.i IS NULL THEN 'error MFS01' ELSE 'created' END),
           n.new_submission, n.number::integer, CASE WHEN n.i IS NOT NULL THEN v_now END,
           n.prepared ->> 'digest', (n.prepared ->> 'needs_review')::boolean,
           CASE WHEN n.selection_mode = 'first_come' THEN
               n.number::integer - (SELECT count(*)::integer FROM calls_submission s
                                     WHERE s.call_id = n.call_id AND s.withdrawn_at IS NOT NULL AND s.protocol < n.number)
           END,
           n.call_code, n.new_email
      FROM requests r LEFT JOIN numbered n ON n.i = r.i
     ORDER BY r.i;
END
$fn$;
"""

DROP_OLD = """
DROP FUNCTION IF EXISTS calls_submit_prepared_batch(jsonb, timestamptz, text, jsonb, text, text, text, text);
DROP FUNCTION IF EXISTS calls_submit_prepared(text, bigint, bigint, text, timestamptz, text, text, jsonb, text,
                                              text, text, text);
"""

DROP_NEW = """
DROP FUNCTION IF EXISTS calls_submit_prepared_batch(jsonb, timestamptz, text, jsonb, text, text, text, text);
DROP TYPE IF EXISTS calls_submit_request;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_OLD)
        schema_editor.execute(REQUEST_TYPE)
        schema_editor.execute(BATCH_FUNCTION, params=None)  # no placeholders: format() uses %1$s


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_NEW)
        importlib.import_module("manifattura.calls.migrations.0005_prepared_submissions").create_function(
            apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0006_click_day_indexes'),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
