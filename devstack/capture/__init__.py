"""The capture agent behind the ARM emulator's packet captures: tcpdump sessions (`agent`), Network Watcher
filters as BPF (`bpf`), network namespaces standing in for VMs (`netns`) and pcap trimming (`pcap`)."""
