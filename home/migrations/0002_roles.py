"""Grant the roles' permissions on Wagtail's page tree and collections, and remove Wagtail's
own starter groups ("Moderators", "Editors"): the clinic's roles replace them."""

from django.db import migrations

from clinic_site.accounts.role_sync import noop, sync_role_permissions
from clinic_site.accounts.roles import ROLE_COLLECTION_PERMISSIONS, ROLE_PAGE_PERMISSIONS, Role


def grant_tree_permissions(apps, schema_editor):
    sync_role_permissions(apps, schema_editor)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Page = apps.get_model("wagtailcore", "Page")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")

    Group.objects.filter(name__in=["Moderators", "Editors"]).delete()

    root_page = Page.objects.filter(depth=1).order_by("path").first()
    root_collection = Collection.objects.filter(depth=1).order_by("path").first()
    for role, codenames in ROLE_PAGE_PERMISSIONS.items():
        group = Group.objects.get(name=role.label)
        for codename in codenames:
            perm = Permission.objects.get(content_type__app_label="wagtailcore", codename=codename)
            if root_page is not None:
                GroupPagePermission.objects.get_or_create(
                    group=group, page=root_page, permission=perm
                )
    GroupCollectionPermission.objects.filter(group__name__in=[r.label for r in Role]).exclude(
        group__name__in=[r.label for r in ROLE_COLLECTION_PERMISSIONS]
    ).delete()
    for role, perms in ROLE_COLLECTION_PERMISSIONS.items():
        group = Group.objects.get(name=role.label)
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            if root_collection is not None:
                GroupCollectionPermission.objects.get_or_create(
                    group=group, collection=root_collection, permission=perm
                )


class Migration(migrations.Migration):
    dependencies = [
        ("home", "0001_initial"),
        ("accounts", "0002_roles"),
        ("clinic_site", "0002_roles"),
        ("doctors", "0002_roles"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailadmin", "0006_formstate"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
        ("wagtailredirects", "0008_add_verbose_name_plural"),
    ]

    operations = [migrations.RunPython(grant_tree_permissions, noop)]
