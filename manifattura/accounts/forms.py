from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from manifattura.accounts.models import User


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email address"), widget=forms.EmailInput(attrs={"autofocus": True}))


class RegistrationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "language"]
