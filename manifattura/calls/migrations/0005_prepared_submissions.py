"""Prepared submissions and the click-day submit function (PostgreSQL).

``calls_submit_prepared`` submits an application whose draft holds a prepared submission
(``Application.prepared``, kept by ``calls.domain``) in one database call: token, membership and
state checks, the prepared content still valid (organization profile unchanged, same Europe/Rome
day range), then the writes of ``calls.domain._submit`` (submission, application, action log entry,
receipt email in the outbox) with the protocol counter taken last. The statement commits on its own,
so the counter row is held only inside the database, never across a round trip to Python.

It returns ``outcome = 'created'`` with the receipt, or another outcome (nothing written) when the
request must go through ``calls.domain.application_submit`` instead: an unknown token, an application
the user does not act for, one already submitted, no or stale prepared content, a call not
published. When the call is not open at the instant the counter is granted it raises SQLSTATE MFS01
(everything undone, the number freed) and the caller falls back too. ``calls.submit_fast`` is the
caller; ``tests/calls/test_submit_fast.py`` checks it writes what the domain function writes.

``calls_submit_prepared_batch`` runs several such requests in one transaction (one commit, one turn on
the counter), each in its own subtransaction so a failing one is undone alone.
"""

from django.conf import settings
from django.db import migrations, models

SUBMIT_FUNCTION = r"""
CREATE OR REPLACE FUNCTION calls_submit_prepared(
    p_token text,               -- an API token, or NULL with
    p_user bigint,              -- the user the caller has authenticated
    p_application bigint,
    p_idempotency_key text,
    p_frozen timestamptz,       -- the frozen clock of tests and demos, else NULL
    p_time_zone text,           -- the programme's time zone (days of the eligibility range)
    p_repr_format text,         -- the action log's object text, format() with %1$s = organization, %2$s = call
    p_subjects jsonb,           -- the receipt email subject by language
    p_default_language text,
    p_email_template text,
    p_email_context text,       -- JSON with "__submission_id__" where the submission id goes
    p_email_attachments text    -- idem
) RETURNS TABLE (
    outcome text, submission_id bigint, protocol integer, received_at timestamptz, digest text,
    needs_review boolean, "position" integer, call_code text, email_id bigint
) LANGUAGE plpgsql AS $fn$
-- Few statements on purpose: each costs an executor start in PostgreSQL, and this runs thousands of
-- times a second on a click day.
DECLARE
    v record;
    v_protocol integer;
    v_now timestamptz;
    v_today date;
    v_email_id bigint;
BEGIN
    -- Who asks (an active user's API token), for which application (locked), acting for it?
    SELECT u.id AS user_id, u.email, COALESCE(NULLIF(u.language, ''), p_default_language) AS language,
           a.status, a.current_submission_id, a.prepared, a.answers, a.accepted_declarations, a.call_id, c.code, c.status AS call_status,
           c.opens_at, c.closes_at, c.selection_mode, o.legal_name,
           jsonb_build_object(
               'id', o.id, 'legal_name', o.legal_name, 'kind', o.kind, 'vat_number', o.vat_number,
               'tax_code', o.tax_code, 'address', o.address, 'city', o.city,
               'operating_address', o.operating_address, 'operating_city', o.operating_city,
               'founded_on', to_char(o.founded_on, 'YYYY-MM-DD'), 'ateco_code', o.ateco_code
           ) AS organization
      INTO v
      FROM accounts_user u
      JOIN calls_application a ON a.id = p_application
      JOIN calls_call c ON c.id = a.call_id
      JOIN accounts_organization o ON o.id = a.organization_id
     WHERE u.id = COALESCE(p_user, (SELECT t.user_id FROM authtoken_token t WHERE t.key = p_token))
       AND u.is_active
       AND EXISTS (SELECT 1 FROM accounts_membership m WHERE m.organization_id = a.organization_id AND m.user_id = u.id)
       FOR UPDATE OF a;
    IF NOT FOUND THEN
        outcome := 'refused';   -- unknown token, inactive user, no such application, or not a member
    ELSIF v.status NOT IN ('draft', 'withdrawn') OR v.current_submission_id IS NOT NULL THEN
        outcome := 'state';     -- already submitted: the full path answers with the same receipt
    ELSIF v.prepared IS NULL THEN
        outcome := 'unprepared';
    ELSIF v.prepared -> 'answers' IS DISTINCT FROM v.answers
          OR v.prepared -> 'declarations' IS DISTINCT FROM v.accepted_declarations
          OR v.prepared -> 'snapshot' -> 'organization' IS DISTINCT FROM v.organization THEN
        outcome := 'changed';   -- the draft or the organization's profile changed since it was prepared
    ELSIF v.call_status <> 'published' THEN
        outcome := 'call';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN QUERY SELECT outcome, NULL::bigint, NULL::integer, NULL::timestamptz, NULL::text,
                            NULL::boolean, NULL::integer, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    submission_id := nextval(pg_get_serial_sequence('calls_submission', 'id'));

    -- The application, its action log entry and the receipt email (application_submit's writes).
    WITH application AS (
        UPDATE calls_application SET status = 'submitted', current_submission_id = submission_id
         WHERE id = p_application
    ), entry AS (
        INSERT INTO core_actionlog (created_at, actor_id, verb, object_type, object_id, object_repr, data,
                                    chain_seq, prev_hash, hash)
        VALUES (COALESCE(p_frozen, clock_timestamp()), v.user_id, 'application.submit', 'calls.application',
                p_application::text, left(format(p_repr_format, v.legal_name, v.code), 300),
                jsonb_build_object('submission', submission_id, 'digest', v.prepared ->> 'digest'), NULL, '', '')
    )
    INSERT INTO core_outboxemail (created_at, "to", subject, template, context, language, attachments,
                                  status, attempts, sent_at, last_error)
    SELECT clock_timestamp(), jsonb_build_array(v.email),
           left(COALESCE(p_subjects ->> v.language, p_subjects ->> p_default_language), 250), p_email_template,
           replace(p_email_context, '"__submission_id__"', submission_id::text)::jsonb, v.language,
           replace(p_email_attachments, '"__submission_id__"', submission_id::text)::jsonb, 'pending', 0, NULL, ''
     WHERE COALESCE(v.email, '') <> ''
    RETURNING id INTO v_email_id;

    -- Last: the call's protocol counter, then the submission. The counter row stays locked until this
    -- statement's transaction commits, inside the database; the instant is read after the lock, so
    -- receipt order = protocol order.
    WITH counter AS (
        UPDATE calls_protocolcounter SET last_number = last_number + 1 WHERE call_id = v.call_id
        RETURNING last_number, COALESCE(p_frozen, clock_timestamp()) AS at
    )
    INSERT INTO calls_submission (id, application_id, call_id, protocol, received_at, snapshot, digest,
                                  requested_amount, eligibility, needs_review, submitted_by_id,
                                  idempotency_key, withdrawn_at, withdrawn_by_id)
    SELECT submission_id, p_application, v.call_id, counter.last_number, counter.at, v.prepared -> 'snapshot',
           v.prepared ->> 'digest', (v.prepared ->> 'requested_amount')::numeric, v.prepared -> 'eligibility',
           (v.prepared ->> 'needs_review')::boolean, v.user_id, p_idempotency_key, NULL, NULL
      FROM counter
    RETURNING calls_submission.protocol, calls_submission.received_at INTO v_protocol, v_now;

    v_today := (v_now AT TIME ZONE p_time_zone)::date;
    IF v_protocol IS NULL OR v_now < v.opens_at OR v_now >= v.closes_at THEN
        RAISE EXCEPTION 'the call is not open' USING ERRCODE = 'MFS01';  -- undoes all: the number is free
    END IF;
    IF v_today < (v.prepared ->> 'valid_from')::date OR v_today >= (v.prepared ->> 'valid_until')::date THEN
        RAISE EXCEPTION 'the prepared eligibility does not hold today' USING ERRCODE = 'MFS01';
    END IF;

    RETURN QUERY SELECT
        'created', submission_id, v_protocol, v_now, v.prepared ->> 'digest', (v.prepared ->> 'needs_review')::boolean,
        CASE WHEN v.selection_mode = 'first_come' THEN
            v_protocol - (SELECT count(*)::integer FROM calls_submission s
                           WHERE s.call_id = v.call_id AND s.withdrawn_at IS NOT NULL AND s.protocol < v_protocol)
        END,
        v.code::text, v_email_id;
END
$fn$;
"""

BATCH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION calls_submit_prepared_batch(
    p_requests jsonb,           -- [{"token", "user", "application", "key", "repr"}, ...] in arrival order
    p_frozen timestamptz,
    p_time_zone text,
    p_subjects jsonb,
    p_default_language text,
    p_email_template text,
    p_email_context text,
    p_email_attachments text
) RETURNS TABLE (
    idx integer, outcome text, submission_id bigint, protocol integer, received_at timestamptz, digest text,
    needs_review boolean, "position" integer, call_code text, email_id bigint
) LANGUAGE plpgsql AS $fn$
-- Several submits in one transaction: one commit (one WAL flush) and one turn on the protocol counter
-- for the whole batch. Each request runs in its own subtransaction, so one that fails (not open at the
-- counter's instant, a reused idempotency key) is undone alone and answered by the full path.
DECLARE
    v_request record;
    v record;
BEGIN
    FOR v_request IN
        SELECT e.value AS r, (e.ordinality - 1)::integer AS i
          FROM jsonb_array_elements(p_requests) WITH ORDINALITY AS e ORDER BY e.ordinality
    LOOP
        BEGIN
            SELECT * INTO v FROM calls_submit_prepared(
                v_request.r ->> 'token', (v_request.r ->> 'user')::bigint, (v_request.r ->> 'application')::bigint,
                v_request.r ->> 'key', p_frozen, p_time_zone, v_request.r ->> 'repr', p_subjects,
                p_default_language, p_email_template, p_email_context, p_email_attachments);
            RETURN QUERY SELECT v_request.i, v.outcome, v.submission_id, v.protocol, v.received_at, v.digest,
                                v.needs_review, v."position", v.call_code, v.email_id;
        EXCEPTION WHEN OTHERS THEN
            RETURN QUERY SELECT v_request.i, 'error ' || SQLSTATE, NULL::bigint, NULL::integer,
                                NULL::timestamptz, NULL::text, NULL::boolean, NULL::integer, NULL::text, NULL::bigint;
        END;
    END LOOP;
END
$fn$;
"""

DROP_FUNCTION = """
DROP FUNCTION IF EXISTS calls_submit_prepared_batch(jsonb, timestamptz, text, jsonb, text, text, text, text);
DROP FUNCTION IF EXISTS calls_submit_prepared(text, bigint, bigint, text, timestamptz, text, text, jsonb, text,
                                              text, text, text);
"""


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SUBMIT_FUNCTION, params=None)  # no placeholders: format() uses %1$s
        schema_editor.execute(BATCH_FUNCTION, params=None)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FUNCTION)


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0004_reserved_codes'),
        ('core', '0002_outbox'),
        ('authtoken', '0004_alter_tokenproxy_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='prepared',
            field=models.JSONField(blank=True, editable=False, null=True, verbose_name='prepared submission'),
        ),
        migrations.AddIndex(
            model_name='submission',
            index=models.Index(condition=models.Q(('withdrawn_at__isnull', False)), fields=['call', 'protocol'], name='calls_submission_withdrawn_idx'),
        ),
        migrations.RunPython(create_function, drop_function),
    ]
