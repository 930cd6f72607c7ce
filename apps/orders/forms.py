from django import forms

from .models import OrderStatus


class OrderStatusForm(forms.Form):
    status = forms.ChoiceField(choices=OrderStatus.choices, label="New status")
