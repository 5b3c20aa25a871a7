"""Transport collectors: Target in, Capture out.  One module per transport (``ssh`` on asyncssh,
``ssh_netmiko``, ``netconf`` on ncclient, ``snmp`` on pysnmp), behind the ``Collector`` protocol of
``base``.  A collector never parses: it may import only the kernel (``agent.core``) of ibagent and
its transport library."""
