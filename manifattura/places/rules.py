"""Who may do what to zones, sites and spaces (the staff area asks these through ``user.has_perm``).

Zones come from boundary files and sites are withdrawn rather than deleted (their history and audit
trail stay), so nobody adds or deletes zones, or deletes sites, by hand.
"""

import rules

from manifattura.accounts.rules import is_staff

# Module permission: the rules backend answers ``has_module_perms(user, "places")`` with this.
rules.add_perm("places", is_staff)

rules.add_perm("places.view_zone", is_staff)
rules.add_perm("places.change_zone", is_staff)
rules.add_perm("places.add_zone", rules.always_deny)
rules.add_perm("places.delete_zone", rules.always_deny)

rules.add_perm("places.view_site", is_staff)
rules.add_perm("places.add_site", is_staff)
rules.add_perm("places.change_site", is_staff)
rules.add_perm("places.change_site_status", is_staff)
rules.add_perm("places.delete_site", rules.always_deny)

for _model in ("space", "siteattachment"):
    for _action in ("view", "add", "change", "delete"):
        rules.add_perm(f"places.{_action}_{_model}", is_staff)
