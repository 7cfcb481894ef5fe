/* placeholder */ typedef int le_placeholder_server_t;
