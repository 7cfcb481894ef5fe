/* placeholder */ typedef int le_placeholder_flv_t;
