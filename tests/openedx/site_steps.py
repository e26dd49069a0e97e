"""The site's own filter steps: they run before (and, configured so, after) this app's."""

from openedx_filters import PipelineStep


class SiteSection(PipelineStep):
    """A site's step that adds a section of its own to the legacy instructor dashboard."""

    def run_filter(self, context, template_name):  # pylint: disable=arguments-differ
        context["sections"].append({"section_key": "site_notes", "section_display_name": "Site notes"})
        context.setdefault("site_steps_ran", []).append("SiteSection")
        return {"context": context, "template_name": template_name}


class SiteTab(PipelineStep):
    """A site's step that adds a tab of its own to the new instructor dashboard."""

    def run_filter(self, tabs, user, course_key):  # pylint: disable=arguments-differ
        tabs.append({"tab_id": "site_notes", "title": "Site notes", "url": "http://site.test/notes", "sort_order": 200})
        return {"tabs": tabs, "user": user, "course_key": course_key}


class SiteEnrollment(PipelineStep):
    """A step for another filter: the plugin leaves it alone."""

    def run_filter(self, user, course_key, mode):  # pylint: disable=arguments-differ
        return {"user": user, "course_key": course_key, "mode": mode}
