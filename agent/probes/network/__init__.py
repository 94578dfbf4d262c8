"""Network checks from the agent: ICMP echo, TCP connect and HTTP(S) to configured targets."""
