/* placeholder */ typedef int le_placeholder_parser_t;
