/* placeholder */ typedef int le_placeholder_handshake_t;
