# Sphinx configuration of the polytope.core docs site (scripts/docs.sh: sphinx-build -c docs/site -W).
#
# Offline, intersphinx cannot fetch docs.ansible.com's inventory, so it is not used. The generated pages refer
# to a few of Ansible's own pages and to other collections' plugins (ansible.builtin, community.docker); the
# missing-reference handler below turns exactly those references into links to docs.ansible.com, and only when
# the target exists: a plugin of an installed collection, or one of the pages in ANSIBLE_PAGES. A reference to
# anything else, above all to this collection's own labels, stays unresolved and fails the build.
from __future__ import annotations

import os
import re
from typing import Any

import ansible
from docutils import nodes

project = "polytope.core"
copyright = "polytope.core maintainers"
title = "polytope.core documentation"
html_short_title = "polytope.core"

extensions = ["sphinx_antsibull_ext"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_theme_options = {"collapse_navigation": False}
display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = "any"
nitpicky = True

ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
# labels of ansible's documentation that antsibull-docs' templates refer to, with their pages and anchors
ANSIBLE_PAGES = {
    "action_plugins": "plugins/action.html#action-plugins",
    "common_return_values": "reference_appendices/common_return_values.html#common-return-values",
    "ansible_configuration_settings": "reference_appendices/config.html#ansible-configuration-settings",
}
PLUGIN_LABEL = re.compile(
    r"^ansible_collections\.(\w+)\.(\w+)\.(\w+)_(module|lookup|filter|test|role|connection|inventory)$"
)
OWN_COLLECTION = ("polytope", "core")


def plugin_exists(namespace: str, collection: str, name: str, kind: str) -> bool:
    if (namespace, collection) == ("ansible", "builtin"):
        base = os.path.dirname(ansible.__file__)
        folder = os.path.join(base, "modules") if kind == "module" else os.path.join(base, "plugins", kind)
        return os.path.exists(os.path.join(folder, name + ".py")) or os.path.exists(os.path.join(folder, name + ".yml"))
    for root in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
        collection_dir = os.path.join(root, "ansible_collections", namespace, collection)
        if kind == "role":
            if os.path.isdir(os.path.join(collection_dir, "roles", name)):
                return True
            continue
        folder = os.path.join(collection_dir, "plugins", "modules" if kind == "module" else kind)
        if any(os.path.exists(os.path.join(folder, name + ext)) for ext in (".py", ".yml", ".yaml")):
            return True
    return False


def external_url(target: str) -> str | None:
    if target in ANSIBLE_PAGES:
        return ANSIBLE_DOCS + ANSIBLE_PAGES[target]
    match = PLUGIN_LABEL.match(target)
    if match is None or match.group(1, 2) == OWN_COLLECTION or not plugin_exists(*match.groups()):
        return None
    namespace, collection, name, kind = match.groups()
    anchor = target.replace(".", "-").replace("_", "-")
    return "%scollections/%s/%s/%s_%s.html#%s" % (ANSIBLE_DOCS, namespace, collection, name, kind, anchor)


def resolve_external(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "std" or node.get("reftype") != "ref":
        return None
    url = external_url(node["reftarget"])
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url, classes=["external"])
    reference += contnode
    return reference


def home_link(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    # the theme's logo links to a fixed address (docs.ansible.com's root, "/"); here it is this site's index,
    # relative to each page so that the site works wherever it is served or opened from
    context["theme_documentation_home_url"] = context["pathto"](app.config.root_doc)


def setup(app: Any) -> dict[str, Any]:
    app.connect("missing-reference", resolve_external)
    app.connect("html-page-context", home_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
