"""Template filters of the Data Download page: ``formats.py`` as filters, so templates word things one way."""

from django import template

from .. import formats

register = template.Library()

register.filter("page_time", formats.page_time)
register.filter("duration", formats.duration)
register.filter("report_meta", formats.report_meta)
register.simple_tag(formats.link_lifetime, name="link_lifetime")
register.simple_tag(formats.time_zone_name, name="time_zone_name")
