/* placeholder */ typedef int le_placeholder_amf_t;
