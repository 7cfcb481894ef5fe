/* placeholder */ typedef int le_placeholder_pkt_t;
