/* placeholder */ typedef int le_placeholder_conf_t;
