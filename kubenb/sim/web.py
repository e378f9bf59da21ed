"""What simulated servers answer over HTTP: the pages ``kubectl proxy`` (``pods/proxy``,
``services/proxy``) shows of the demo images tutorials use.

- the nginx family (``nginx``, ``nginx-slim``, ``nginx-unprivileged``...) serves files from
  ``/usr/share/nginx/html`` (``index.html`` for ``/``): what ``kubectl exec`` or a volume put
  there, else nginx's welcome page; anything else is nginx's 404;
- ``httpd`` serves ``/usr/local/apache2/htdocs`` the same way ("It works!");
- ``gcr.io/google-samples/kubernetes-bootcamp`` answers
  ``Hello Kubernetes bootcamp! | Running on: <pod> | v=1`` (the Kubernetes Basics tutorial);
- ``hello-app`` answers ``Hello, world!``, its version and the pod's name;
- ``hashicorp/http-echo`` answers its ``-text``; ``traefik/whoami`` its hostname and IPs;
  ``registry.k8s.io/hpa-example`` answers ``OK!``; agnhost ``netexec`` its ``/hostname``.

Any other server answers an empty 200 on a port its container declares. A port nothing listens
on is None (the caller says "connection refused"). Pure functions: the kubelet passes the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Answer", "answer", "default_port"]


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


_NGINX = ("docker.io/library/nginx", "docker.io/nginxinc/nginx-unprivileged",
          "registry.k8s.io/nginx-slim", "docker.io/bitnami/nginx",
          "registry.k8s.io/e2e-test-images/nginx")
_PORTS = {
    **dict.fromkeys(_NGINX, 80),
    "docker.io/nginxinc/nginx-unprivileged": 8080, "docker.io/bitnami/nginx": 8080,
    "docker.io/library/httpd": 80,
    "gcr.io/google-samples/kubernetes-bootcamp": 8080,
    "gcr.io/google-samples/hello-app": 8080,
    "us-docker.pkg.dev/google-samples/containers/gke/hello-app": 8080,
    "docker.io/hashicorp/http-echo": 5678,
    "docker.io/traefik/whoami": 80, "docker.io/containous/whoami": 80,
    "registry.k8s.io/hpa-example": 80,
    "registry.k8s.io/e2e-test-images/agnhost": 8080,
}

NGINX_WELCOME = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
_NGINX_404 = ("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center>"
              "<h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
              "</html>\r\n")
_HTML = "text/html"


def default_port(repository: str) -> int | None:
    """The port the image's server listens on when nothing says otherwise."""
    return _PORTS.get(repository)


def _static(root: str, path: str, files: Mapping[str, str | None], index: str | None,
            missing: str) -> Answer:
    name = path.split("?", 1)[0]
    if name.endswith("/"):
        name += "index.html"
    content = files.get(root + name)
    if content is not None:
        return Answer(200, content + ("" if content.endswith("\n") else "\n"), _HTML)
    if name == "/index.html" and index is not None:
        return Answer(200, index, _HTML)
    return Answer(404, missing, _HTML)


def _flag(args: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg in (f"-{name}", f"--{name}") and i + 1 < len(args):
            return args[i + 1]
        for prefix in (f"-{name}=", f"--{name}="):
            if arg.startswith(prefix):
                return arg[len(prefix):]
    return None


def answer(repository: str, tag: str, *, pod: str, ip: str, port: int, declared: bool,
           path: str, files: Mapping[str, str | None], args: Sequence[str] = ()
           ) -> Answer | None:
    """What the server of an image answers a GET of ``path`` on ``port``; None when nothing
    listens there. ``declared``: the container lists the port in its ``ports``."""
    listens = port == default_port(repository) or declared
    if not listens:
        return None
    if repository in _NGINX:
        return _static("/usr/share/nginx/html", path, files, NGINX_WELCOME, _NGINX_404)
    if repository == "docker.io/library/httpd":
        return _static("/usr/local/apache2/htdocs", path, files,
                       "<html><body><h1>It works!</h1></body></html>\n",
                       "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
                       "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
                       "<p>The requested URL was not found on this server.</p>\n"
                       "</body></html>\n")
    if repository == "gcr.io/google-samples/kubernetes-bootcamp":
        version = tag[1:] if tag.startswith("v") else tag
        return Answer(200, f"Hello Kubernetes bootcamp! | Running on: {pod} | v={version}\n")
    if repository.endswith("/hello-app"):
        version = tag if tag.count(".") >= 2 else f"{tag}.0" if "." in tag else tag
        return Answer(200, f"Hello, world!\nVersion: {version}\nHostname: {pod}\n")
    if repository == "docker.io/hashicorp/http-echo":
        return Answer(200, (_flag(args, "text") or "hello-world") + "\n")
    if repository in ("docker.io/traefik/whoami", "docker.io/containous/whoami"):
        return Answer(200, f"Hostname: {pod}\nIP: 127.0.0.1\nIP: {ip}\nGET {path} HTTP/1.1\n")
    if repository == "registry.k8s.io/hpa-example":
        return Answer(200, "OK!")
    if repository == "registry.k8s.io/e2e-test-images/agnhost" and "netexec" in args:
        if path.split("?", 1)[0] == "/hostname":
            return Answer(200, pod)
        return Answer(200, "")
    return Answer(200, "")
