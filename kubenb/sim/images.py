"""The simulated image registry: which images a simulated node can pull, how big they are, and
what they do when a container runs them without a command.

A tutorial names real images (``nginx:1.27``, ``busybox``, ``redis:7``...), so the registry knows
a generous list of common repositories, with any tag or digest. A mistyped image must fail as it
does on a real cluster (``ErrImagePull`` then ``ImagePullBackOff``), so anything else is unknown,
except images under the documented private patterns (``kubenb.local/...``,
``<anything>.kubenb.local/...``, ``localhost[:port]/...``) and repositories added at run time with
:meth:`ImageRegistry.add`.

Each image has a *kind*, which says what it does with no command:

- ``server``: runs until stopped, after logging a few plausible start lines (nginx, redis...);
- ``shell``: a base image whose default command is a shell with no input: it exits 0 at once
  (so a bare ``busybox`` pod under a Deployment goes into CrashLoopBackOff, as for real);
- ``job``: prints its lines and exits 0 (``hello-world``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field

__all__ = ["Image", "ImageRef", "ImageRegistry", "parse_reference"]

MB = 1_000_000


@dataclass(frozen=True)
class Image:
    """What the registry knows of one repository."""

    repository: str  # normalised: docker.io/library/nginx
    size: int  # bytes (what the Pulled event reports)
    kind: str = "server"  # server | shell | job
    #: start lines of a server (or output of a job); ``{time:<strftime>}`` and ``{tag}`` are
    #: filled in when the container starts
    lines: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ImageRef:
    """An image reference as a container names it, and its normalised forms."""

    text: str  # as written in the pod spec
    repository: str  # docker.io/library/nginx
    tag: str  # 1.27 (latest when absent)
    digest: str  # sha256:... when the reference pins one, else ""
    full: str  # what containerd reports in containerStatuses[].image

    @property
    def image_id(self) -> str:
        """``containerStatuses[].imageID``: the repository at the content digest."""
        digest = self.digest or "sha256:" + hashlib.sha256(
            f"{self.repository}:{self.tag}".encode()).hexdigest()
        return f"{self.repository}@{digest}"


_REF = re.compile(r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?(@sha256:[a-f0-9]{64})?$", re.I)


@functools.lru_cache(maxsize=4096)
def parse_reference(text: str) -> ImageRef | None:
    """Normalise ``text`` as containerd does (docker.io, library/, latest); None if invalid."""
    ref = text.strip()
    if not ref or not _REF.match(ref):
        return None
    digest = ""
    explicit_tag = False
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    parts = ref.split("/")
    last = parts[-1]
    tag = "latest"
    if ":" in last:
        last, tag = last.rsplit(":", 1)
        parts[-1] = last
        explicit_tag = True
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        host, path = parts[0], parts[1:]
    else:
        host, path = "docker.io", parts
    if host in ("index.docker.io", "registry-1.docker.io"):
        host = "docker.io"
    if host == "docker.io" and len(path) == 1:
        path = ["library", *path]
    if host == "k8s.gcr.io":  # the old name of registry.k8s.io
        host = "registry.k8s.io"
    repository = host + "/" + "/".join(path)
    if repository != repository.lower():
        return None  # containerd: "repository name must be lowercase"
    full = f"{repository}@{digest}" if digest and not explicit_tag else f"{repository}:{tag}"
    return ImageRef(text, repository, tag, digest, full)


def _img(repository: str, size_mb: float, kind: str = "server",
         *lines: str) -> tuple[str, Image]:
    return repository, Image(repository, int(size_mb * MB), kind, tuple(lines))


_NGINX = (
    "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform "
    "configuration",
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
    "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in "
    "/etc/nginx/conf.d/default.conf",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
    "{time:%Y/%m/%d %H:%M:%S} [notice] 1#1: using the \"epoll\" event method",
    "{time:%Y/%m/%d %H:%M:%S} [notice] 1#1: nginx/{tag}",
    "{time:%Y/%m/%d %H:%M:%S} [notice] 1#1: start worker processes",
)
_HTTPD = (
    "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, "
    "using {ip}. Set the 'ServerName' directive globally to suppress this message",
    "[{time:%a %b %d %H:%M:%S.000000 %Y}] [mpm_event:notice] [pid 1:tid 1] AH00489: "
    "Apache/2.4 (Unix) configured -- resuming normal operations",
)
_REDIS = (
    "1:C {time:%d %b %Y %H:%M:%S.000} # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    "1:M {time:%d %b %Y %H:%M:%S.000} * Server initialized",
    "1:M {time:%d %b %Y %H:%M:%S.000} * Ready to accept connections tcp",
)
_POSTGRES = (
    "PostgreSQL init process complete; ready for start up.",
    "{time:%Y-%m-%d %H:%M:%S.000} UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", "
    "port 5432",
    "{time:%Y-%m-%d %H:%M:%S.000} UTC [1] LOG:  database system is ready to accept connections",
)
_MYSQL = (
    "{time:%Y-%m-%dT%H:%M:%S.000000Z} 0 [System] [MY-010116] [Server] /usr/sbin/mysqld "
    "starting as process 1",
    "{time:%Y-%m-%dT%H:%M:%S.000000Z} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: "
    "ready for connections. port: 3306",
)
_MONGO = ('{"t":{"$date":"{time:%Y-%m-%dT%H:%M:%S.000+00:00}"},"s":"I","c":"NETWORK",'
          '"id":23016,"ctx":"listener","msg":"Waiting for connections","attr":{"port":27017}}',)
_RAILS = (
    "=> Booting Puma",
    "=> Rails 7.1.3 application starting in production",
    "=> Run `bin/rails server --help` for more startup options",
    "Puma starting in single mode...",
    "* Puma version: 6.4.2 (ruby 3.3.0-p0) (\"The Eagle of Durango\")",
    "*  Min threads: 5",
    "*  Max threads: 5",
    "*  Environment: production",
    "*          PID: 1",
    "* Listening on http://0.0.0.0:3000",
    "Use Ctrl-C to stop",
)
_HELLO_APP = ("{time:%Y/%m/%d %H:%M:%S} Server listening on port 8080",)
_AGNHOST = ("I{time:%m%d %H:%M:%S.000000}       1 log.go:245] Started HTTP server on port 8080",)
_ECHO = ("Listening on port 8080.",)
_GENERIC_HTTP = ("Listening on :8080",)
_HELLO_WORLD = (
    "", "Hello from Docker!",
    "This message shows that your installation appears to be working correctly.", "",
    "To generate this message, Docker took the following steps:",
    " 1. The Docker client contacted the Docker daemon.",
    " 2. The Docker daemon pulled the \"hello-world\" image from the Docker Hub.",
    "    (amd64)",
    " 3. The Docker daemon created a new container from that image which runs the",
    "    executable that produces the output you are currently reading.",
    " 4. The Docker daemon streamed that output to the Docker client, which sent it",
    "    to your terminal.", "",
    "For more examples and ideas, visit:", " https://docs.docker.com/get-started/",
)

_LIBRARY = "docker.io/library/"

KNOWN: dict[str, Image] = dict([
    # web servers and proxies
    _img(_LIBRARY + "nginx", 72.1, "server", *_NGINX),
    _img("docker.io/nginxinc/nginx-unprivileged", 72.5, "server", *_NGINX),
    _img("registry.k8s.io/nginx-slim", 38.0, "server", *_NGINX),
    _img("docker.io/bitnami/nginx", 95.0, "server", *_NGINX),
    _img("docker.io/nginxdemos/hello", 10.0, "server", *_NGINX),
    _img(_LIBRARY + "httpd", 58.0, "server", *_HTTPD),
    _img(_LIBRARY + "caddy", 48.0, "server",
         '{"level":"info","msg":"serving initial configuration"}'),
    _img(_LIBRARY + "traefik", 52.0, "server", 'level=info msg="Traefik version is running"'),
    _img(_LIBRARY + "haproxy", 42.0, "server", "[NOTICE]   (1) : New worker (8) forked"),
    _img(_LIBRARY + "tomcat", 190.0, "server",
         "{time:%d-%b-%Y %H:%M:%S.000} INFO [main] org.apache.catalina.startup.Catalina.start "
         "Server startup in [850] milliseconds"),
    _img(_LIBRARY + "jetty", 180.0, "server"),
    _img(_LIBRARY + "registry", 10.0, "server",
         'level=info msg="listening on [::]:5000"'),
    # data stores and queues
    _img(_LIBRARY + "redis", 117.0, "server", *_REDIS),
    _img("docker.io/bitnami/redis", 100.0, "server", *_REDIS),
    _img("registry.k8s.io/redis", 40.0, "server", *_REDIS),
    _img("gcr.io/google-samples/gb-redis-follower", 40.0, "server", *_REDIS),
    _img("gcr.io/google_samples/gb-redisslave", 40.0, "server", *_REDIS),
    _img("us-docker.pkg.dev/google-samples/containers/gke/gb-redis-follower", 40.0, "server",
         *_REDIS),
    _img(_LIBRARY + "valkey", 110.0, "server", *_REDIS),
    _img(_LIBRARY + "postgres", 438.0, "server", *_POSTGRES),
    _img("docker.io/bitnami/postgresql", 270.0, "server", *_POSTGRES),
    _img(_LIBRARY + "mysql", 586.0, "server", *_MYSQL),
    _img("docker.io/bitnami/mysql", 500.0, "server", *_MYSQL),
    _img(_LIBRARY + "mariadb", 405.0, "server", *_MYSQL),
    _img(_LIBRARY + "percona", 600.0, "server", *_MYSQL),
    _img(_LIBRARY + "mongo", 750.0, "server", *_MONGO),
    _img("docker.io/bitnami/mongodb", 600.0, "server", *_MONGO),
    _img(_LIBRARY + "memcached", 85.0, "server"),
    _img(_LIBRARY + "rabbitmq", 220.0, "server", "  Starting broker... completed with 0 plugins."),
    _img(_LIBRARY + "cassandra", 360.0, "server", "INFO  Starting listening for CQL clients"),
    _img(_LIBRARY + "elasticsearch", 1200.0, "server"),
    _img("docker.elastic.co/elasticsearch/elasticsearch", 1200.0, "server"),
    _img(_LIBRARY + "kibana", 1000.0, "server"),
    _img(_LIBRARY + "logstash", 800.0, "server"),
    _img(_LIBRARY + "couchdb", 250.0, "server"),
    _img(_LIBRARY + "neo4j", 500.0, "server"),
    _img(_LIBRARY + "influxdb", 300.0, "server"),
    _img(_LIBRARY + "telegraf", 250.0, "server"),
    _img(_LIBRARY + "zookeeper", 300.0, "server"),
    _img(_LIBRARY + "solr", 550.0, "server"),
    _img(_LIBRARY + "nats", 18.0, "server", "[1] [INF] Server is ready"),
    _img(_LIBRARY + "consul", 150.0, "server"),
    _img(_LIBRARY + "vault", 250.0, "server"),
    _img("docker.io/hashicorp/consul", 150.0, "server"),
    _img("docker.io/hashicorp/vault", 250.0, "server"),
    _img("quay.io/coreos/etcd", 60.0, "server"),
    _img("gcr.io/etcd-development/etcd", 60.0, "server"),
    _img("registry.k8s.io/etcd", 60.0, "server"),
    _img("docker.io/minio/minio", 150.0, "server"),
    _img("quay.io/minio/minio", 150.0, "server"),
    _img("docker.io/bitnami/kafka", 450.0, "server"),
    _img("docker.io/apache/kafka", 400.0, "server"),
    _img("docker.io/confluentinc/cp-kafka", 800.0, "server"),
    # applications
    _img(_LIBRARY + "rails", 330.0, "server", *_RAILS),
    _img(_LIBRARY + "wordpress", 700.0, "server", *_HTTPD),
    _img("docker.io/bitnami/wordpress", 600.0, "server", *_HTTPD),
    _img(_LIBRARY + "ghost", 550.0, "server"),
    _img(_LIBRARY + "drupal", 500.0, "server", *_HTTPD),
    _img(_LIBRARY + "joomla", 500.0, "server", *_HTTPD),
    _img(_LIBRARY + "nextcloud", 1100.0, "server", *_HTTPD),
    _img(_LIBRARY + "mediawiki", 800.0, "server", *_HTTPD),
    _img(_LIBRARY + "redmine", 550.0, "server", *_RAILS),
    _img(_LIBRARY + "odoo", 1500.0, "server"),
    _img(_LIBRARY + "phpmyadmin", 560.0, "server", *_HTTPD),
    _img(_LIBRARY + "adminer", 120.0, "server"),
    _img(_LIBRARY + "sonarqube", 700.0, "server"),
    _img("docker.io/jenkins/jenkins", 470.0, "server",
         "{time:%Y-%m-%d %H:%M:%S.000}+0000 [id=1] INFO hudson.lifecycle.Lifecycle#onReady: "
         "Jenkins is fully up and running"),
    _img("docker.io/grafana/grafana", 400.0, "server",
         'logger=http.server level=info msg="HTTP Server Listen" address=[::]:3000'),
    _img("docker.io/prom/prometheus", 270.0, "server",
         'level=INFO source=main.go msg="Server is ready to receive web requests."'),
    _img("quay.io/prometheus/prometheus", 270.0, "server",
         'level=INFO source=main.go msg="Server is ready to receive web requests."'),
    _img("docker.io/prom/alertmanager", 70.0, "server"),
    _img("docker.io/prom/node-exporter", 22.0, "server"),
    _img("quay.io/prometheus/node-exporter", 22.0, "server"),
    _img("docker.io/prom/pushgateway", 20.0, "server"),
    _img("registry.k8s.io/kube-state-metrics/kube-state-metrics", 45.0, "server"),
    _img("registry.k8s.io/metrics-server/metrics-server", 68.0, "server"),
    _img("registry.k8s.io/ingress-nginx/controller", 300.0, "server", *_NGINX),
    _img("registry.k8s.io/coredns/coredns", 16.0, "server", ".:53", "CoreDNS-1.11.3"),
    _img("registry.k8s.io/pause", 0.3, "server"),
    # demo and test applications
    _img("gcr.io/google-samples/hello-app", 10.0, "server", *_HELLO_APP),
    _img("us-docker.pkg.dev/google-samples/containers/gke/hello-app", 10.0, "server",
         *_HELLO_APP),
    _img("gcr.io/google-samples/gb-frontend", 120.0, "server", *_HTTPD),
    _img("us-docker.pkg.dev/google-samples/containers/gke/gb-frontend", 120.0, "server",
         *_HTTPD),
    _img("gcr.io/google-samples/node-hello", 250.0, "server"),
    _img("gcr.io/google-samples/kubernetes-bootcamp", 70.0, "server",
         "Kubernetes Bootcamp App Started At: {time:%Y-%m-%dT%H:%M:%S.000Z} | Running On:  "
         "{hostname}"),
    _img("gcr.io/k8s-minikube/kicbase-echo-server", 4.0, "server", *_ECHO),
    _img("registry.k8s.io/echoserver", 46.0, "server", *_NGINX),
    _img("registry.k8s.io/e2e-test-images/agnhost", 53.0, "server", *_AGNHOST),
    _img("registry.k8s.io/e2e-test-images/nginx", 8.0, "server", *_NGINX),
    _img("registry.k8s.io/hpa-example", 180.0, "server", *_HTTPD),
    _img("registry.k8s.io/liveness", 2.0, "server", *_GENERIC_HTTP),
    _img("gcr.io/kuar-demo/kuard-amd64", 10.0, "server",
         "{time:%Y/%m/%d %H:%M:%S} Starting kuard version: v0.10.0-blue",
         "{time:%Y/%m/%d %H:%M:%S} Serving on HTTP on :8080"),
    _img("docker.io/kennethreitz/httpbin", 220.0, "server",
         "[{time:%Y-%m-%d %H:%M:%S} +0000] [1] [INFO] Listening at: http://0.0.0.0:80 (1)"),
    _img("docker.io/mccutchen/go-httpbin", 15.0, "server"),
    _img("docker.io/hashicorp/http-echo", 3.5, "server",
         "{time:%Y/%m/%d %H:%M:%S} [INFO] server is listening on :5678"),
    _img("docker.io/ealen/echo-server", 60.0, "server", *_ECHO),
    _img("docker.io/jmalloc/echo-server", 5.0, "server", "Echo server listening on port 8080."),
    _img("docker.io/traefik/whoami", 3.0, "server", "Starting up on port 80"),
    _img("docker.io/containous/whoami", 3.0, "server", "Starting up on port 80"),
    _img("docker.io/stefanprodan/podinfo", 12.0, "server"),
    _img("ghcr.io/stefanprodan/podinfo", 12.0, "server"),
    _img("docker.io/paulbouwer/hello-kubernetes", 30.0, "server",
         "Listening on: http://hello-kubernetes:8080"),
    _img("docker.io/argoproj/rollouts-demo", 10.0, "server"),
    _img("docker.io/kicbase/echo-server", 4.0, "server", *_ECHO),
    _img("docker.io/docker/getting-started", 10.0, "server", *_NGINX),
    _img("docker.io/dockersamples/static-site", 50.0, "server", *_NGINX),
    _img("docker.io/library/docker", 130.0, "server"),
    # base images: the default command is a shell that exits at once without input
    _img(_LIBRARY + "busybox", 2.2, "shell"),
    _img("registry.k8s.io/busybox", 1.1, "shell"),
    _img("registry.k8s.io/e2e-test-images/busybox", 1.4, "shell"),
    _img("gcr.io/google-containers/busybox", 1.1, "shell"),
    _img("docker.io/radial/busyboxplus", 4.2, "shell"),
    _img(_LIBRARY + "alpine", 3.6, "shell"),
    _img(_LIBRARY + "ubuntu", 29.0, "shell"),
    _img(_LIBRARY + "debian", 49.0, "shell"),
    _img(_LIBRARY + "centos", 80.0, "shell"),
    _img(_LIBRARY + "fedora", 65.0, "shell"),
    _img(_LIBRARY + "rockylinux", 70.0, "shell"),
    _img(_LIBRARY + "almalinux", 70.0, "shell"),
    _img(_LIBRARY + "amazonlinux", 60.0, "shell"),
    _img(_LIBRARY + "oraclelinux", 90.0, "shell"),
    _img(_LIBRARY + "archlinux", 160.0, "shell"),
    _img("docker.io/opensuse/leap", 45.0, "shell"),
    _img(_LIBRARY + "bash", 6.0, "shell"),
    _img("registry.access.redhat.com/ubi8/ubi", 80.0, "shell"),
    _img("registry.access.redhat.com/ubi9/ubi", 80.0, "shell"),
    _img("registry.access.redhat.com/ubi9/ubi-minimal", 38.0, "shell"),
    _img("gcr.io/distroless/static", 1.0, "shell"),
    _img("gcr.io/distroless/base", 10.0, "shell"),
    _img("docker.io/nicolaka/netshoot", 180.0, "shell"),
    _img("docker.io/curlimages/curl", 11.0, "shell"),
    _img("docker.io/alpine/curl", 6.0, "shell"),
    _img("docker.io/alpine/git", 30.0, "shell"),
    _img("docker.io/bitnami/kubectl", 80.0, "shell"),
    _img("registry.k8s.io/kubectl", 30.0, "shell"),
    _img("docker.io/library/buildpack-deps", 300.0, "shell"),
    # language runtimes: the default command is an interactive interpreter (exits without a tty)
    *(_img(_LIBRARY + name, size, "shell") for name, size in (
        ("python", 1000.0), ("pypy", 900.0), ("node", 1100.0), ("golang", 800.0),
        ("ruby", 900.0), ("openjdk", 470.0), ("eclipse-temurin", 450.0),
        ("amazoncorretto", 430.0), ("php", 480.0), ("perl", 890.0), ("rust", 1400.0),
        ("gcc", 1400.0), ("maven", 500.0), ("gradle", 700.0), ("erlang", 1200.0),
        ("elixir", 1200.0), ("haskell", 1500.0), ("julia", 700.0), ("r-base", 850.0),
        ("swift", 1600.0), ("clojure", 600.0), ("groovy", 550.0))),
    _img("mcr.microsoft.com/dotnet/sdk", 800.0, "shell"),
    _img("mcr.microsoft.com/dotnet/runtime", 190.0, "shell"),
    _img("mcr.microsoft.com/dotnet/aspnet", 220.0, "server",
         "info: Microsoft.Hosting.Lifetime[14]", "      Now listening on: http://[::]:8080"),
    # jobs
    _img(_LIBRARY + "hello-world", 0.01, "job", *_HELLO_WORLD),
    _img("docker.io/docker/whalesay", 250.0, "job", " _____ ", "< moo >", " ----- "),
])

#: repository prefixes whose every image is known (organisations that publish many images)
KNOWN_PREFIXES: dict[str, Image] = {
    "docker.io/bitnami/": Image("docker.io/bitnami/*", 200 * MB, "server"),
    "registry.k8s.io/e2e-test-images/": Image("registry.k8s.io/e2e-test-images/*", 50 * MB,
                                              "server"),
}

#: hosts of private registries the simulation accepts any image from (documented)
_PRIVATE_HOST = re.compile(r"^(kubenb\.local|[a-z0-9.-]+\.kubenb\.local|localhost(:\d+)?)$")


class ImageRegistry:
    """The registry every simulated node pulls from: known images plus run-time additions."""

    def __init__(self) -> None:
        self._added: dict[str, Image] = {}

    def add(self, repository: str, *, size: int = 50 * MB, kind: str = "server",
            lines: tuple[str, ...] | list[str] = ()) -> Image:
        """Make ``repository`` (any tag) pullable, e.g. ``registry.add("myorg/web")``."""
        if kind not in ("server", "shell", "job"):
            raise ValueError(f"kind must be server, shell or job, not {kind!r}")
        ref = parse_reference(repository)
        if ref is None:
            raise ValueError(f"invalid image repository {repository!r}")
        image = Image(ref.repository, size, kind, tuple(lines))
        self._added[ref.repository] = image
        return image

    def lookup(self, ref: ImageRef) -> Image | None:
        """The image ``ref`` names, or None when the registry does not have it."""
        repo = ref.repository
        image = self._added.get(repo) or KNOWN.get(repo)
        if image is not None:
            return image
        for prefix, image in KNOWN_PREFIXES.items():
            if repo.startswith(prefix):
                return image
        host = repo.split("/", 1)[0]
        if _PRIVATE_HOST.match(host):
            return Image(repo, 50 * MB, "server")
        return None
