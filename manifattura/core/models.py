from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ActionLog(models.Model):
    """Append-only log of domain events.

    Entries are written inside the transaction of the action they record, without a hash; a separate
    short step (``core.audit.audit_link``) links committed entries into a SHA-256 chain in id order,
    so writers never wait for each other's chain position.
    """

    created_at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    verb = models.CharField(_("action"), max_length=80)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    chain_seq = models.BigIntegerField(_("chain position"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("action log entry")
        verbose_name_plural = _("action log")
        ordering = ["-id"]
        # Written on every action, thousands a second on a click day: besides the chain position, only
        # the index the history pages read by (an object's entries, newest first by id).
        indexes = [models.Index(fields=["object_type", "object_id"], name="core_actionlog_object_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.verb} {self.object_repr}"


class ChainHead(models.Model):
    """Singleton row: the last linked entry of the action log (locked only by the linker)."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self):
        return f"#{self.last_seq} {self.last_hash[:12]}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxEmail(models.Model):
    """An email recorded in the transaction that caused it, delivered after commit or by a worker.

    Nothing is lost if the mail server is down or the process dies: pending rows are retried by
    ``manifattura send-notifications``.
    """

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    to = models.JSONField(_("recipients"), default=list)
    subject = models.CharField(_("subject"), max_length=250)
    template = models.CharField(_("template"), max_length=200)
    context = models.JSONField(_("context"), default=dict)
    language = models.CharField(_("language"), max_length=8, default="it")
    attachments = models.JSONField(
        _("attachments"), default=list, blank=True,
        help_text=_("Attachment builders: [{'builder': 'dotted.path', 'kwargs': {...}}]"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["id"]
        # The worker reads pending emails oldest first; sent ones leave the index.
        indexes = [models.Index(fields=["id"], condition=models.Q(status="pending"), name="core_outbox_pending_idx")]

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to)}"
