import re

import pytest
from django import forms

from portal.widgets import Select

CHOICES = [("", "All <kinds>"), ("data", 'Data & "more"'), (3, "Three")]


class DjangosForm(forms.Form):
    kind = forms.ChoiceField(choices=CHOICES, required=False, widget=forms.Select(attrs={"class": "form-select"}))


class OurForm(forms.Form):
    kind = forms.ChoiceField(choices=CHOICES, required=False, widget=Select(attrs={"class": "form-select"}))


def squeezed(html: str) -> str:
    return re.sub(r"\s*\n\s*", "", html)


@pytest.mark.parametrize("data", [None, {"kind": "data"}, {"kind": "3"}, {"kind": '"><script>'}])
def test_the_select_writes_what_djangos_template_writes(data):
    """Chosen option, escaping, the attributes an invalid choice adds."""
    assert squeezed(str(OurForm(data)["kind"])) == squeezed(str(DjangosForm(data)["kind"]))


def test_option_labels_and_values_are_escaped():
    html = str(OurForm({"kind": "data"})["kind"])

    assert "All &lt;kinds&gt;" in html
    assert '<option value="data" selected>Data &amp; &quot;more&quot;</option>' in html


def test_option_groups_fall_back_to_djangos_rendering():
    class Grouped(forms.Form):
        kind = forms.ChoiceField(choices=[("Usage", [("data", "Data"), ("sms", "Texts")])], widget=Select)

    html = str(Grouped({"kind": "sms"})["kind"])

    assert '<optgroup label="Usage">' in html
    assert '<option value="sms" selected>Texts</option>' in html
