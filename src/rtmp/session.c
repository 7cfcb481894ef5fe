/* placeholder */ typedef int le_placeholder_session_t;
