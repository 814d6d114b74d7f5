"""Service names of well-known ports (IANA's registry, https://www.iana.org/assignments/service-names-port-numbers),
built in so that the summary does not depend on the host's /etc/services."""

from __future__ import annotations

_BOTH = {
    53: "dns", 88: "kerberos", 123: "ntp", 389: "ldap", 443: "https", 3389: "rdp", 5060: "sip",
}
_TCP = {
    20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 80: "http", 110: "pop3", 135: "msrpc",
    139: "netbios-ssn", 143: "imap", 179: "bgp", 445: "microsoft-ds", 465: "smtps", 587: "submission",
    636: "ldaps", 993: "imaps", 995: "pop3s", 1433: "ms-sql", 1521: "oracle", 2049: "nfs", 2375: "docker",
    2376: "docker-tls", 3306: "mysql", 5432: "postgresql", 5671: "amqps", 5672: "amqp", 5985: "winrm",
    5986: "winrm-tls", 6379: "redis", 6443: "kubernetes-api", 8080: "http-alt", 8443: "https-alt",
    9092: "kafka", 9200: "elasticsearch", 10250: "kubelet", 11211: "memcached", 27017: "mongodb",
}
_UDP = {
    67: "dhcp-server", 68: "dhcp-client", 69: "tftp", 137: "netbios-ns", 138: "netbios-dgm", 161: "snmp",
    162: "snmptrap", 500: "isakmp", 514: "syslog", 1812: "radius", 1813: "radius-acct", 3478: "stun",
    4500: "ipsec-nat-t", 4789: "vxlan", 5353: "mdns", 51820: "wireguard",
}


def service_name(protocol: str, port: int) -> str:
    """The service usually on ``protocol`` (``"TCP"``/``"UDP"``) ``port``, or ``""``."""
    table = _TCP if protocol.upper() == "TCP" else _UDP
    return table.get(port) or _BOTH.get(port, "")


KNOWN_PORTS = sorted({*_BOTH, *_TCP, *_UDP})  # ports with a service name (either protocol)
