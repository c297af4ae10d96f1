"""The first international rates (øre incl. VAT per started minute and per
text), and the rate table for the staff groups: an agent looks rates up; a
supervisor also adds and changes them. A rate that exists for a prefix is
left as staff made it."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

# prefix, English, Norwegian, Chinese, per minute, per text
RATES = [
    ("1", "USA and Canada", "USA og Canada", "美国和加拿大", 499, 199),
    ("41", "Switzerland", "Sveits", "瑞士", 299, 199),
    ("44", "United Kingdom", "Storbritannia", "英国", 299, 199),
    ("60", "Malaysia", "Malaysia", "马来西亚", 299, 199),
    ("61", "Australia", "Australia", "澳大利亚", 399, 199),
    ("63", "Philippines", "Filippinene", "菲律宾", 499, 199),
    ("65", "Singapore", "Singapore", "新加坡", 299, 199),
    ("66", "Thailand", "Thailand", "泰国", 299, 199),
    ("81", "Japan", "Japan", "日本", 399, 199),
    ("82", "South Korea", "Sør-Korea", "韩国", 399, 199),
    ("84", "Vietnam", "Vietnam", "越南", 399, 199),
    ("86", "China", "Kina", "中国", 149, 199),
    ("90", "Turkey", "Tyrkia", "土耳其", 399, 199),
    ("91", "India", "India", "印度", 199, 199),
    ("92", "Pakistan", "Pakistan", "巴基斯坦", 399, 199),
    ("380", "Ukraine", "Ukraina", "乌克兰", 299, 199),
    ("852", "Hong Kong", "Hongkong", "中国香港", 199, 199),
    ("853", "Macao", "Macao", "中国澳门", 299, 199),
    ("886", "Taiwan", "Taiwan", "中国台湾", 299, 199),
]

AGENT_PERMISSIONS = ["view_internationalrate"]
SUPERVISOR_PERMISSIONS = [*AGENT_PERMISSIONS, "add_internationalrate", "change_internationalrate"]
GROUPS = {"Support agent": AGENT_PERMISSIONS, "Supervisor": SUPERVISOR_PERMISSIONS}


def seed(apps, schema_editor):
    InternationalRate = apps.get_model("subscriptions", "InternationalRate")
    for prefix, name_en, name_nb, name_zh_hans, per_minute, per_text in RATES:
        if not InternationalRate.objects.filter(prefix=prefix).exists():
            InternationalRate.objects.create(
                prefix=prefix,
                name_en=name_en,
                name_nb=name_nb,
                name_zh_hans=name_zh_hans,
                per_minute_ore=per_minute,
                per_text_ore=per_text,
            )


def grant(apps, schema_editor):
    create_permissions(
        global_apps.get_app_config("subscriptions"), apps=apps, verbosity=0, using=schema_editor.connection.alias
    )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="subscriptions", codename__in=codenames)
        )


def seed_and_grant(apps, schema_editor):
    seed(apps, schema_editor)
    grant(apps, schema_editor)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(content_type__app_label="subscriptions", codename__in=SUPERVISOR_PERMISSIONS)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*wanted)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0027_international_rates")]

    operations = [migrations.RunPython(seed_and_grant, revoke)]
