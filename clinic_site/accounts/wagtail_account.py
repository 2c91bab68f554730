"""The staff "Account" page of the Wagtail admin, with one full-name field instead of two."""

from django import forms
from wagtail.admin.views import account

from .models import User


class FullNameForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "phone"]


class FullNameSettingsPanel(account.BaseSettingsPanel):
    name = "name_email"
    title = "Name and phone"
    order = 100
    form_class = FullNameForm


class ClinicAccountView(account.AccountView):
    def get_panels(self):
        return [
            FullNameSettingsPanel(self.request, panel.user, panel.profile)
            if isinstance(panel, account.NameEmailSettingsPanel)
            else panel
            for panel in super().get_panels()
        ]
